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
const ids = (v: unknown, field: string) =>
  printableList(v, field, 128, 'Workspace ids must be non-empty printable ASCII strings');

export function parseNetworkPatch(body: Record<string, unknown>, allowIngress: boolean): NetworkPatch {
  const p: NetworkPatch = {};
  if (body.allow_internet !== undefined) p.allow_internet = bool(body.allow_internet, 'allow_internet');
  if (body.public_access !== undefined) p.public_access = bool(body.public_access, 'public_access');
  if (body.ingress_ports !== undefined) p.ingress_ports = ports(body.ingress_ports, 'ingress_ports');
  if (body.egress_ports !== undefined) p.egress_ports = ports(body.egress_ports, 'egress_ports');
  if (body.egress !== undefined) p.egress = hosts(body.egress, 'egress');
  if (body.private_link_ids !== undefined) p.private_link_ids = ids(body.private_link_ids, 'private_link_ids');
  if (body.ingress !== undefined) {
    if (!allowIngress) bad('ingress', 'ingress is managed through private_link_ids and public_access; use PUT to replace it');
    // The `host` keyword is derived from public_access, never stored.
    p.ingress = hosts(body.ingress, 'ingress').filter((h) => h !== 'host');
  }
  return p;
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
