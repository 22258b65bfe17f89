/**
 * Network policy bodies (seed 000, control-plane.md §6): PATCH (partial) and PUT
 * (replace). Rules: ports 1–65535; at most 50 entries per list; hosts printable
 * ASCII; `allow_internet: false` forces `egress: []`.
 */
import { z } from 'zod';
import { parseWith } from './zod-parse.js';
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
const OCTET = '(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const IPV4_CIDR = new RegExp(`^${OCTET}(\\.${OCTET}){3}(/([0-9]|[12][0-9]|3[0-2]))?$`);
const LABEL = '[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?';
const HOST_NAME = new RegExp(`^(\\*\\.)?(${LABEL}\\.)*${LABEL}\\.?$`, 'i');

/**
 * An array of at most MAX_LIST entries whose entries are then judged by `entry` (the length
 * is judged first, as clients were told). The document shows `entry` as the array's items.
 */
function list<E extends z.ZodType>(field: string, entry: E) {
  const { $schema: _drop, ...items } = z.toJSONSchema(entry, { io: 'input', unrepresentable: 'any' });
  return z.array(z.unknown(), { error: `${field} must be an array` })
    .max(MAX_LIST, `${field} may have at most ${MAX_LIST} entries`)
    .pipe(z.array(entry))
    .meta({ items });
}

const dedupe = <T>(v: T[]): T[] => [...new Set(v)];

/** Ports 1–65535, as numbers or decimal strings (CLI flags); de-duplicated. */
function ports(field: string) {
  const rule = 'Port must be between 1 and 65535';
  const port = z.union([z.number().int().min(1).max(65535), z.string().regex(/^\d+$/).transform(Number)], { error: rule })
    .pipe(z.number().min(1, rule).max(65535, rule));
  return list(field, port).transform(dedupe);
}

/** Non-empty printable ASCII of at most `maxLen`, de-duplicated. */
function printableList(field: string, maxLen: number, message: string) {
  const entry = z.string({ error: message }).min(1, message).max(maxLen, message).regex(PRINTABLE, message);
  return list(field, entry).transform(dedupe);
}

const HOSTS_RULE = 'Hosts must be non-empty printable ASCII without spaces (max 253 characters)';
const hosts = (field: string) => printableList(field, 253, HOSTS_RULE);

/**
 * Egress targets: IPv4 address, IPv4 CIDR, host name or `*.`-wildcard host name. The forms
 * are judged after de-duplication, so a refusal's index counts distinct entries.
 */
const egressTargets = hosts('egress').pipe(z.array(z.string().refine(
  (h) => (/^[\d./]+$/.test(h) ? IPV4_CIDR.test(h) : HOST_NAME.test(h)),
  'Not an IPv4 address, an IPv4 CIDR or a host name',
)));

/**
 * Ingress sources: IPv4 addresses or CIDRs (workspaces are linked by id instead). The `host`
 * keyword is derived from public_access, never stored: it is dropped before the forms are
 * judged, so a refusal's index counts distinct entries other than `host`.
 */
const ingressSources = hosts('ingress')
  .transform((v) => v.filter((h) => h !== 'host'))
  .pipe(z.array(z.string().regex(IPV4_CIDR, 'Not an IPv4 address or CIDR (link workspaces with private_link_ids)')));

const UNSUPPORTED_PROXY = 'Custom outbound proxies are not supported; use an outbound IP (POST /network/ip)';
const notImplemented = { message: UNSUPPORTED_PROXY, params: { code: 'not_implemented' } };

/**
 * The fields of both bodies, in the order they are judged. `outbound_mode: "managed"` is
 * what Warren does; bring-your-own-proxy (`custom`, `custom_proxy`) is a hosted-plan
 * feature Warren does not offer: a clear 501 `not_implemented`.
 */
const policyFields = {
  allow_internet: z.boolean({ error: 'allow_internet must be a boolean' }).optional(),
  public_access: z.boolean({ error: 'public_access must be a boolean' }).optional(),
  ingress_ports: ports('ingress_ports').optional(),
  egress_ports: ports('egress_ports').optional(),
  egress: egressTargets.optional(),
  private_link_ids: printableList('private_link_ids', 128, 'Workspace ids must be non-empty printable ASCII strings').optional(),
  outbound_mode: z.enum(['managed', 'custom'], { error: 'outbound_mode must be "managed" or "custom"' })
    .refine((m) => m !== 'custom', notImplemented).optional(),
  custom_proxy: z.unknown().refine(() => false, notImplemented).optional().describe('Refused: not_implemented'),
};

/** PATCH /workspace/:id/network: only given fields change; ingress is managed through links and public_access. */
export const networkPatchSchema = z.looseObject({
  ...policyFields,
  ingress: z.never({ error: 'ingress is managed through private_link_ids and public_access; use PUT to replace it' }).optional(),
});

/** PUT /workspace/:id/network: the policy is replaced (fields not given take their defaults). */
export const networkReplaceSchema = z.looseObject({ ...policyFields, ingress: ingressSources.optional() });

/** `allowIngress`: PUT (replace) takes `ingress`; PATCH refuses it. */
export function parseNetworkPatch(body: unknown, allowIngress: boolean): NetworkPatch {
  const b = parseWith(allowIngress ? networkReplaceSchema : networkPatchSchema, body);
  const p: NetworkPatch = {};
  if (b.allow_internet !== undefined) p.allow_internet = b.allow_internet;
  if (b.public_access !== undefined) p.public_access = b.public_access;
  if (b.ingress_ports !== undefined) p.ingress_ports = b.ingress_ports;
  if (b.egress_ports !== undefined) p.egress_ports = b.egress_ports;
  if (b.egress !== undefined) p.egress = b.egress;
  if (b.private_link_ids !== undefined) p.private_link_ids = b.private_link_ids;
  if (b.ingress !== undefined) p.ingress = b.ingress;
  return p;
}

/**
 * POST /workspace/:id/network/ip `{ ip }`: absent, null or empty is `ip_required`; whether the
 * address is in the outbound pool and on this host is the domain's check (run-time configuration).
 */
export const outboundIpSchema = z.looseObject({
  ip: z.unknown()
    .refine((v) => v !== undefined && v !== null && v !== '', { message: 'ip is required', params: { code: 'ip_required' } })
    .pipe(z.string({ error: 'ip must be a string' }))
    .meta({ type: 'string', description: 'An address of the outbound pool (GET /zone/mine)' }),
});

export function parseOutboundIp(body: unknown): string {
  return parseWith(outboundIpSchema, body).ip;
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
