/**
 * The network policy bodies are parsed by their zod schemas (networkPatchSchema,
 * networkReplaceSchema). Equivalence: the hand-written parser they replaced is kept below as
 * `legacy…`; over a corpus of valid and invalid bodies both must give the same command, or
 * refuse with the same code and `details.field` (clients match on those).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from './errors.js';
import { MAX_LIST, parseNetworkPatch, parseOutboundIp, type NetworkPatch } from './network.js';
import { outcome } from '../../test/support/parser-equivalence.js';

// ---- the hand-written parser as it was (legacy, for the equivalence test only) ----
/* eslint-disable */
const PRINTABLE = /^[\x21-\x7e]+$/;

function bad(field: string, message: string): never {
  throw new AppError('validation_error', message, { field });
}

function bool(v: unknown, field: string): boolean {
  if (typeof v !== 'boolean') bad(field, `${field} must be a boolean`);
  return v;
}

function list(v: unknown, field: string): unknown[] {
  if (!Array.isArray(v)) bad(field, `${field} must be an array`);
  if (v.length > MAX_LIST) bad(field, `${field} may have at most ${MAX_LIST} entries`);
  return v;
}

function ports(v: unknown, field: string): number[] {
  const out = list(v, field).map((p, i) => {
    const n = typeof p === 'string' && /^\d+$/.test(p) ? Number(p) : p;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 65535) {
      bad(`${field}[${i}]`, 'Port must be between 1 and 65535');
    }
    return n;
  });
  return [...new Set(out)];
}

/** A de-duplicated list of non-empty printable-ASCII strings of at most `maxLen`. */
function printableList(v: unknown, field: string, maxLen: number, message: string): string[] {
  const out = list(v, field).map((h, i) => {
    if (typeof h !== 'string' || h.length === 0 || h.length > maxLen || !PRINTABLE.test(h)) bad(`${field}[${i}]`, message);
    return h;
  });
  return [...new Set(out)];
}

const hosts = (v: unknown, field: string) =>
  printableList(v, field, 253, 'Hosts must be non-empty printable ASCII without spaces (max 253 characters)');

const OCTET = '(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const IPV4_CIDR = new RegExp(`^${OCTET}(\\.${OCTET}){3}(/([0-9]|[12][0-9]|3[0-2]))?$`);
const LABEL = '[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?';
const HOST_NAME = new RegExp(`^(\\*\\.)?(${LABEL}\\.)*${LABEL}\\.?$`, 'i');

/** Egress targets: IPv4 address, IPv4 CIDR, host name or `*.`-wildcard host name. */
function egressTargets(v: unknown, field: string): string[] {
  const out = hosts(v, field);
  out.forEach((h, i) => {
    const numeric = /^[\d./]+$/.test(h);
    if (numeric ? !IPV4_CIDR.test(h) : !HOST_NAME.test(h)) {
      bad(`${field}[${i}]`, `"${h}" is not an IPv4 address, an IPv4 CIDR or a host name`);
    }
  });
  return out;
}

/** Ingress sources: IPv4 addresses or CIDRs (workspaces are linked by id instead). */
function ingressSources(v: unknown, field: string): string[] {
  const out = hosts(v, field).filter((h) => h !== 'host');
  out.forEach((h, i) => {
    if (!IPV4_CIDR.test(h)) bad(`${field}[${i}]`, `"${h}" is not an IPv4 address or CIDR (link workspaces with private_link_ids)`);
  });
  return out;
}
const ids = (v: unknown, field: string) =>
  printableList(v, field, 128, 'Workspace ids must be non-empty printable ASCII strings');

function legacyParseNetworkPatch(body: Record<string, unknown>, allowIngress: boolean): NetworkPatch {
  const p: NetworkPatch = {};
  if (body.allow_internet !== undefined) p.allow_internet = bool(body.allow_internet, 'allow_internet');
  if (body.public_access !== undefined) p.public_access = bool(body.public_access, 'public_access');
  if (body.ingress_ports !== undefined) p.ingress_ports = ports(body.ingress_ports, 'ingress_ports');
  if (body.egress_ports !== undefined) p.egress_ports = ports(body.egress_ports, 'egress_ports');
  if (body.egress !== undefined) p.egress = egressTargets(body.egress, 'egress');
  if (body.private_link_ids !== undefined) p.private_link_ids = ids(body.private_link_ids, 'private_link_ids');
  legacyOutboundMode(body);
  if (body.ingress !== undefined) {
    if (!allowIngress) bad('ingress', 'ingress is managed through private_link_ids and public_access; use PUT to replace it');
    // The `host` keyword is derived from public_access, never stored.
    p.ingress = ingressSources(body.ingress, 'ingress');
  }
  return p;
}

/**
 * `outbound_mode: "managed"` is what Warren does; bring-your-own-proxy (`custom`,
 * `custom_proxy`) is a hosted-plan feature Warren does not offer: a clear 501.
 */
function legacyOutboundMode(body: Record<string, unknown>): void {
  const mode = body.outbound_mode;
  if (mode !== undefined && mode !== 'managed' && mode !== 'custom') bad('outbound_mode', 'outbound_mode must be "managed" or "custom"');
  if (mode === 'custom' || body.custom_proxy !== undefined) {
    throw new AppError('not_implemented', 'Custom outbound proxies are not supported; use an outbound IP (POST /network/ip)',
      { field: mode === 'custom' ? 'outbound_mode' : 'custom_proxy' });
  }
}


/** The checks the domain made on POST /network/ip's `ip` before the pool (src/domain/network-policy.ts). */
function legacyOutboundIp(ip: unknown): string {
  if (ip === undefined || ip === null || ip === '') throw new AppError('ip_required', 'ip is required', { field: 'ip' });
  if (typeof ip !== 'string') throw new AppError('validation_error', 'ip must be a string', { field: 'ip' });
  return ip;
}
// ---- end of legacy ----


const many = (n: number, f: (i: number) => unknown) => Array.from({ length: n }, (_, i) => f(i));

const CORPUS: Record<string, unknown>[] = [
  {},
  { allow_internet: true },
  { allow_internet: false, egress: ['example.com'] },
  { allow_internet: 'yes' },
  { allow_internet: null },
  { public_access: 1 },
  { public_access: true, extra: 'kept out' },
  { ingress_ports: [80, '443', 80, '443'] },
  { ingress_ports: [0] },
  { ingress_ports: [80, 65536] },
  { ingress_ports: [1.5] },
  { ingress_ports: ['8o'] },
  { ingress_ports: [' 80'] },
  { ingress_ports: '80' },
  { ingress_ports: many(MAX_LIST, (i) => i + 1) },
  { ingress_ports: many(MAX_LIST + 1, (i) => i + 1) },
  { ingress_ports: [...many(MAX_LIST, (i) => i + 1), 0] },
  { egress_ports: [null] },
  { egress_ports: [53, '53', 65535, '1'] },
  { egress: ['*.example.com', '10.0.0.0/8', '1.2.3.4', 'example.com.', 'a_b.c'] },
  { egress: ['a.com', 'a.com', '1.2.3.999'] },
  { egress: ['1.2.3.999', ''] },
  { egress: ['bad host'] },
  { egress: ['x'.repeat(254)] },
  { egress: ['-bad.com'] },
  { egress: ['10.0.0.0/33'] },
  { egress: [5] },
  { egress: {} },
  { egress: many(MAX_LIST + 1, (i) => `h${i}.com`) },
  { private_link_ids: ['ws_a', 'ws_a', 'ws_b'] },
  { private_link_ids: ['x'.repeat(129)] },
  { private_link_ids: ['ok', 'tab\there'] },
  { private_link_ids: null },
  { outbound_mode: 'managed' },
  { outbound_mode: 'custom' },
  { outbound_mode: 'proxy' },
  { outbound_mode: null },
  { custom_proxy: { host: 'p' } },
  { custom_proxy: null, outbound_mode: 'managed' },
  { outbound_mode: 'custom', custom_proxy: {} },
  { allow_internet: 1, outbound_mode: 'custom' },
  { outbound_mode: 'custom', ingress: ['1.2.3.4'] },
  { ingress: ['1.2.3.4', 'host', '10.0.0.0/24', '1.2.3.4'] },
  { ingress: ['host', 'host', 'example.com'] },
  { ingress: ['1.2.3.4', 'example.com'] },
  { ingress: ['', 'example.com'] },
  { ingress: null },
  { ingress: 'host' },
  { ingress: many(MAX_LIST + 1, () => '1.2.3.4') },
  { ingress: [] },
  { allow_internet: true, public_access: false, ingress_ports: [22], egress_ports: [443], egress: ['github.com'],
    private_link_ids: ['ws_1'], outbound_mode: 'managed', ingress: ['192.168.0.1'] },
  { egress: ['ok.com'], ingress_ports: ['x'] },
  { private_link_ids: [''], egress: ['bad host'] },
];

for (const allowIngress of [false, true]) {
  test(`${allowIngress ? 'PUT' : 'PATCH'} /workspace/:id/network: the zod schema parses as the hand-written parser did`, () => {
    assert.ok(CORPUS.length >= 20);
    for (const body of CORPUS) {
      const expected = outcome(() => legacyParseNetworkPatch(body, allowIngress));
      const actual = outcome(() => parseNetworkPatch(body, allowIngress));
      assert.deepEqual(actual, expected, JSON.stringify(body).slice(0, 200));
    }
  });
}

test('network: a body that is not an object names the body', () => {
  for (const body of [null, [], 'x', 3]) {
    assert.deepEqual(outcome(() => parseNetworkPatch(body, true)), { code: 'validation_error', field: 'body' });
  }
});

test('network: a custom proxy is a 501 naming the field that asked for it', () => {
  assert.deepEqual(outcome(() => parseNetworkPatch({ outbound_mode: 'custom' }, false)), { code: 'not_implemented', field: 'outbound_mode' });
  assert.deepEqual(outcome(() => parseNetworkPatch({ custom_proxy: 'p' }, true)), { code: 'not_implemented', field: 'custom_proxy' });
  const patch: NetworkPatch = parseNetworkPatch({ ingress_ports: ['80', 80] }, false);
  assert.deepEqual(patch, { ingress_ports: [80] });
});

test('POST /workspace/:id/network/ip: the zod schema refuses as the domain did', () => {
  const corpus: Record<string, unknown>[] = [
    {}, { ip: null }, { ip: '' }, { ip: 5 }, { ip: 0 }, { ip: false }, { ip: true }, { ip: [] }, { ip: ['1.2.3.4'] }, { ip: {} },
    { ip: '1.2.3.4' }, { ip: ' ' }, { ip: 'not an ip' }, { ip: '::1' }, { ip: '10.0.0.1', extra: 1 }, { other: '1.2.3.4' },
    { ip: 'x'.repeat(300) }, { ip: '1.2.3.4\n' }, { ip: -1 }, { ip: '0' }, { IP: '1.2.3.4' },
  ];
  for (const body of corpus) {
    assert.deepEqual(outcome(() => parseOutboundIp(body)), outcome(() => legacyOutboundIp(body.ip)), JSON.stringify(body));
  }
});
