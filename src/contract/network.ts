/**
 * Network policy bodies (seed 000, control-plane.md §6): PATCH (partial) and PUT
 * (replace). Rules: ports 1–65535; at most 50 entries per list; hosts printable
 * ASCII; `allow_internet: false` forces `egress: []`.
 */
import { AppError } from './errors.js';
import { defaultNetworkPolicy, type NetworkPolicy } from './workspace.js';

export const MAX_LIST = 50;

export interface NetworkPatch {
  allow_internet?: boolean;
  public_access?: boolean;
  ingress?: string[];
  ingress_ports?: number[];
  egress?: string[];
  egress_ports?: number[];
  private_link_ids?: string[];
}

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

export function parseNetworkPatch(body: Record<string, unknown>, allowIngress: boolean): NetworkPatch {
  const p: NetworkPatch = {};
  if (body.allow_internet !== undefined) p.allow_internet = bool(body.allow_internet, 'allow_internet');
  if (body.public_access !== undefined) p.public_access = bool(body.public_access, 'public_access');
  if (body.ingress_ports !== undefined) p.ingress_ports = ports(body.ingress_ports, 'ingress_ports');
  if (body.egress_ports !== undefined) p.egress_ports = ports(body.egress_ports, 'egress_ports');
  if (body.egress !== undefined) p.egress = egressTargets(body.egress, 'egress');
  if (body.private_link_ids !== undefined) p.private_link_ids = ids(body.private_link_ids, 'private_link_ids');
  parseOutboundMode(body);
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
function parseOutboundMode(body: Record<string, unknown>): void {
  const mode = body.outbound_mode;
  if (mode !== undefined && mode !== 'managed' && mode !== 'custom') bad('outbound_mode', 'outbound_mode must be "managed" or "custom"');
  if (mode === 'custom' || body.custom_proxy !== undefined) {
    throw new AppError('not_implemented', 'Custom outbound proxies are not supported; use an outbound IP (POST /network/ip)',
      { field: mode === 'custom' ? 'outbound_mode' : 'custom_proxy' });
  }
}

/** PATCH semantics: only given fields change. PUT: `base` is the default policy. */
export function applyNetworkPatch(base: NetworkPolicy, patch: NetworkPatch): NetworkPolicy {
  const next: NetworkPolicy = { ...base, ...stripUndefined(patch) };
  if (!next.allow_internet) next.egress = [];
  return next;
}

export function replacementBase(current: NetworkPolicy): NetworkPolicy {
  // Replace resets everything to defaults but the outbound IP, which has its own endpoint.
  return { ...defaultNetworkPolicy(), outbound_ip: current.outbound_ip };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
