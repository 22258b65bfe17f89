/**
 * Guards the workspace subnet against the host's own networks. Warren may only use a
 * subnet that no route and no address of the host claims, except those on its own
 * bridge: otherwise workspaces could shadow (or be reached through) a real network.
 *
 * The check is split into I/O (`readHostRoutes`, `readHostAddresses`) and a pure
 * decision (`findConflicts`) so the decision is unit-tested on recorded output.
 */
import { AppError } from '../contract/errors.js';
import { run } from '../util/exec.js';
import { formatCidr, formatIpv4, overlaps, parseAnyCidr, parseSubnet } from './addresses.js';

/** One IPv4 route as printed by `ip -j route show table all` (fields we use). */
export interface HostRoute {
  dst: string;
  dev?: string;
  type?: string;
  table?: string;
  protocol?: string;
}

/** One IPv4 address as printed by `ip -j -4 addr` (flattened). */
export interface HostAddress {
  ifname: string;
  local: string;
  prefixlen: number;
}

export interface SubnetConflict {
  /** Human-readable description, e.g. `route 192.0.2.0/24 dev eth0 (table main)`. */
  what: string;
  cidr: string;
}

export async function readHostRoutes(): Promise<HostRoute[]> {
  const { stdout } = await run('ip', ['-j', '-4', 'route', 'show', 'table', 'all']);
  return parseJsonArray(stdout) as HostRoute[];
}

export async function readHostAddresses(): Promise<HostAddress[]> {
  const { stdout } = await run('ip', ['-j', '-4', 'addr', 'show']);
  const links = parseJsonArray(stdout) as Array<{ ifname?: string; addr_info?: Array<Record<string, unknown>> }>;
  const out: HostAddress[] = [];
  for (const link of links) {
    for (const info of link.addr_info ?? []) {
      if (info.family !== 'inet' || typeof info.local !== 'string') continue;
      out.push({ ifname: link.ifname ?? '?', local: info.local, prefixlen: Number(info.prefixlen ?? 32) });
    }
  }
  return out;
}

/** `ip -j` prints nothing at all (not `[]`) for an empty result. */
function parseJsonArray(stdout: string): unknown[] {
  const text = stdout.trim();
  if (text === '') return [];
  const value: unknown = JSON.parse(text);
  return Array.isArray(value) ? value : [];
}

function describeRoute(route: HostRoute, cidr: string): string {
  const parts = [`route ${route.type && route.type !== 'unicast' ? `${route.type} ` : ''}${cidr}`];
  parts.push(route.dev ? `dev ${route.dev}` : 'without device');
  parts.push(`(table ${route.table ?? 'main'})`);
  return parts.join(' ');
}

/**
 * Every host route or address that overlaps `subnet` and is not on `ownBridge`.
 * Default routes are ignored: they are a fallback, not a claim on addresses.
 * Non-IPv4 or unparsable entries are ignored.
 */
export function findConflicts(
  subnet: string, ownBridge: string, routes: readonly HostRoute[], addresses: readonly HostAddress[],
): SubnetConflict[] {
  const mine = parseSubnet(subnet);
  const found: SubnetConflict[] = [];
  for (const route of routes) {
    if (route.dev === ownBridge || route.dst === 'default') continue;
    const cidr = parseAnyCidr(route.dst);
    if (!cidr || cidr.prefixLen === 0 || !overlaps(mine, cidr)) continue;
    const text = route.dst.includes('/') ? formatCidr(cidr) : formatIpv4(cidr.network);
    found.push({ what: describeRoute(route, text), cidr: formatCidr(cidr) });
  }
  for (const addr of addresses) {
    if (addr.ifname === ownBridge) continue;
    const cidr = parseAnyCidr(`${addr.local}/${addr.prefixlen}`);
    if (!cidr || !overlaps(mine, cidr)) continue;
    found.push({ what: `address ${addr.local}/${addr.prefixlen} on ${addr.ifname}`, cidr: formatCidr(cidr) });
  }
  return found;
}

/** Throws the AppError Warren reports for a subnet that host networks already claim. */
export function conflictError(subnet: string, ownBridge: string, conflicts: readonly SubnetConflict[]): AppError {
  const list = conflicts.map((c) => c.what).join('; ');
  return new AppError('validation_error',
    `subnet ${subnet} overlaps a host network Warren does not own (bridge ${ownBridge}): ${list}. ` +
    'Choose a different workspace subnet.',
    { field: 'subnet', conflicts: conflicts.map((c) => c.what) });
}

/**
 * Reads the host's routes and addresses and throws AppError('validation_error',
 * {field:'subnet'}) naming each conflicting route/address if `subnet` overlaps any of
 * them outside `ownBridge`. Also throws for a malformed subnet.
 */
export async function assertSubnetIsFree(subnet: string, ownBridge: string): Promise<void> {
  parseSubnet(subnet);
  const [routes, addresses] = await Promise.all([readHostRoutes(), readHostAddresses()]);
  const conflicts = findConflicts(subnet, ownBridge, routes, addresses);
  if (conflicts.length > 0) throw conflictError(subnet, ownBridge, conflicts);
}
