/**
 * Pure IPv4 address arithmetic for the workspace subnet: CIDR parsing, the gateway
 * (first host address, held by the Warren bridge), overlap tests and allocation of
 * the lowest free host address. No I/O here, so every rule is unit-testable.
 *
 * Addresses are handled as unsigned 32-bit integers; text forms are canonical
 * dotted quads without leading zeros.
 */
import { AppError } from '../contract/errors.js';

/** Smallest and largest accepted prefix: /8 is the biggest private block, /28 leaves 13 workspaces. */
export const MIN_PREFIX = 8;
export const MAX_PREFIX = 28;

export interface Cidr {
  /** Network address as an unsigned 32-bit integer. */
  network: number;
  prefixLen: number;
}

const OCTET = /^(0|[1-9][0-9]{0,2})$/;

/** Parses a dotted quad; null when it is not a canonical IPv4 address. */
export function parseIpv4(text: string): number | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  let value = 0;
  for (const part of parts) {
    if (!OCTET.test(part)) return null;
    const octet = Number(part);
    if (octet > 255) return null;
    value = value * 256 + octet;
  }
  return value;
}

export function isIpv4(text: string): boolean {
  return parseIpv4(text) !== null;
}

export function formatIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

function maskOf(prefixLen: number): number {
  return prefixLen === 0 ? 0 : (0xffffffff << (32 - prefixLen)) >>> 0;
}

/** Number of addresses in a block of this prefix length. */
function sizeOf(prefixLen: number): number {
  return 2 ** (32 - prefixLen);
}

/**
 * Parses any IPv4 CIDR (prefix 0–32; a bare address means /32) without the subnet
 * policy; host bits are cleared. Used for routes read from the kernel. Null if malformed.
 */
export function parseAnyCidr(text: string): Cidr | null {
  const [addr, prefix, extra] = text.split('/');
  if (addr === undefined || extra !== undefined) return null;
  const ip = parseIpv4(addr);
  if (ip === null) return null;
  const prefixLen = prefix === undefined ? 32 : /^[0-9]{1,2}$/.test(prefix) ? Number(prefix) : NaN;
  if (!(prefixLen >= 0 && prefixLen <= 32)) return null;
  return { network: (ip & maskOf(prefixLen)) >>> 0, prefixLen };
}

/**
 * Parses and validates a workspace subnet: `a.b.c.d/len`, len 8–28, no host bits set.
 * Throws AppError('validation_error', …, {field:'subnet'}) explaining what is wrong.
 */
export function parseSubnet(text: string): Cidr {
  const fail = (why: string) => new AppError('validation_error', `invalid subnet "${text}": ${why}`, { field: 'subnet' });
  const match = /^([0-9.]+)\/([0-9]{1,2})$/.exec(text);
  if (!match) throw fail('expected IPv4 CIDR notation such as 10.213.0.0/16');
  const ip = parseIpv4(match[1]!);
  if (ip === null) throw fail(`"${match[1]}" is not an IPv4 address`);
  const prefixLen = Number(match[2]);
  if (prefixLen < MIN_PREFIX || prefixLen > MAX_PREFIX) {
    throw fail(`prefix length must be between ${MIN_PREFIX} and ${MAX_PREFIX}`);
  }
  const network = (ip & maskOf(prefixLen)) >>> 0;
  if (network !== ip) throw fail(`host bits are set; did you mean ${formatIpv4(network)}/${prefixLen}?`);
  return { network, prefixLen };
}

export function formatCidr(cidr: Cidr): string {
  return `${formatIpv4(cidr.network)}/${cidr.prefixLen}`;
}

function asCidr(subnet: string | Cidr): Cidr {
  return typeof subnet === 'string' ? parseSubnet(subnet) : subnet;
}

export function broadcastOf(subnet: string | Cidr): string {
  const c = asCidr(subnet);
  return formatIpv4(c.network + sizeOf(c.prefixLen) - 1);
}

/** The gateway is the first host address; it lives on the Warren bridge. */
export function gatewayOf(subnet: string | Cidr): string {
  return formatIpv4(asCidr(subnet).network + 1);
}

/** True when `ip` is inside the block (network and broadcast included). */
export function contains(subnet: string | Cidr, ip: string): boolean {
  const c = asCidr(subnet);
  const value = parseIpv4(ip);
  return value !== null && ((value & maskOf(c.prefixLen)) >>> 0) === c.network;
}

/** True when `ip` may be given to a workspace: inside, not network, gateway or broadcast. */
export function isAssignable(subnet: string | Cidr, ip: string): boolean {
  const c = asCidr(subnet);
  const value = parseIpv4(ip);
  if (value === null || !contains(c, ip)) return false;
  return value > c.network + 1 && value < c.network + sizeOf(c.prefixLen) - 1;
}

/** Two blocks overlap iff one contains the other's network address. Accepts any CIDR. */
export function overlaps(a: string | Cidr, b: string | Cidr): boolean {
  const ca = typeof a === 'string' ? parseAnyCidr(a) : a;
  const cb = typeof b === 'string' ? parseAnyCidr(b) : b;
  if (!ca || !cb) throw new AppError('validation_error', `invalid CIDR "${String(ca ? b : a)}"`, { field: 'subnet' });
  const shorter = Math.min(ca.prefixLen, cb.prefixLen);
  const mask = maskOf(shorter);
  return ((ca.network & mask) >>> 0) === ((cb.network & mask) >>> 0);
}

/** Number of addresses a subnet can hand out (excludes network, gateway, broadcast). */
export function capacityOf(subnet: string | Cidr): number {
  return sizeOf(asCidr(subnet).prefixLen) - 3;
}

/**
 * Picks an address for a new workspace.
 * - With `preferred` (e.g. the address a restarting workspace had): returns it if it is
 *   assignable and free; throws validation_error if it is not assignable in this subnet
 *   and `conflict` if another workspace holds it. It never silently substitutes.
 * - Otherwise: the lowest assignable address not in `used`; throws
 *   service_unavailable (reason 'pool_exhausted') when none is left.
 */
export function allocate(subnet: string | Cidr, used: ReadonlySet<string>, preferred?: string): string {
  const c = asCidr(subnet);
  if (preferred !== undefined) {
    if (!isAssignable(c, preferred)) {
      throw new AppError('validation_error',
        `address ${preferred} is not assignable in ${formatCidr(c)} (network, gateway and broadcast are reserved)`,
        { field: 'ip' });
    }
    if (used.has(preferred)) throw new AppError('conflict', `address ${preferred} is already in use`, { field: 'ip' });
    return preferred;
  }
  const last = c.network + sizeOf(c.prefixLen) - 2;
  // At most used.size + 1 iterations: each step either returns or skips a used address.
  for (let value = c.network + 2; value <= last; value++) {
    const ip = formatIpv4(value);
    if (!used.has(ip)) return ip;
  }
  throw new AppError('service_unavailable',
    `address pool ${formatCidr(c)} is exhausted: all ${capacityOf(c)} workspace addresses are in use`,
    { field: 'subnet', reason: 'pool_exhausted' });
}
