/**
 * The Warren-owned Linux bridge that all workspace veths attach to.
 *
 * Contracts:
 * - The bridge holds the gateway address (first host of the subnet) and nothing else.
 * - It never gets an uplink: Warren adds no physical port and refuses a bridge that has
 *   one. Workspaces have no route off the bridge; `ip_forward` is never touched.
 * - br_netfilter is switched on *for this bridge only* (nf_call_iptables/ip6tables), so
 *   bridged workspace-to-workspace traffic always passes the inet firewall, whatever the
 *   host-wide `bridge-nf-call-*` sysctls say.
 * - IPv6 is disabled on the bridge itself so workspaces cannot reach the host over
 *   link-local IPv6 (the L2 firewall also drops non-IPv4/ARP frames from workspaces).
 */
import { readdir, writeFile } from 'node:fs/promises';
import { AppError } from '../contract/errors.js';
import { run, tryRun } from '../util/exec.js';
import { gatewayOf, parseSubnet } from './addresses.js';
import { assertSubnetIsFree } from './routes.js';

/** Linux interface names: ≤ 15 bytes; we also restrict the alphabet so names are safe in nft scripts. */
const IFNAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/;

/**
 * Workspaces one bridge holds: a Linux bridge has at most 1,024 ports (BR_MAX_PORTS)
 * and port number 0 is reserved. Past it the kernel refuses the port with EXFULL;
 * Warren refuses the workspace first, with a stable code (`bridgeFull`).
 */
export const BRIDGE_MAX_WORKSPACES = 1023;

/** Number of ports on `bridge` (its /sys brif directory; 0 when unreadable). */
export async function bridgePortCount(bridge: string): Promise<number> {
  try {
    return (await readdir(`/sys/class/net/${bridge}/brif`)).length;
  } catch {
    return 0;
  }
}

/** The refusal of a workspace that would be port 1,024 of the bridge. */
export function bridgeFull(bridge: string): AppError {
  return new AppError('HOST_CAPACITY_REACHED',
    `This host runs the most workspaces one network bridge holds (${BRIDGE_MAX_WORKSPACES}); stop or delete one first`,
    { limit: 'bridge_ports', max: BRIDGE_MAX_WORKSPACES, bridge });
}

/** Link kinds allowed as bridge ports: workspace veths and VM taps. Anything else is an uplink. */
const PORT_KINDS = new Set(['veth', 'tun']);

export function assertIfname(name: string, field = 'bridge'): void {
  if (!IFNAME.test(name)) {
    throw new AppError('validation_error',
      `invalid interface name "${name}": 1–15 characters of A–Z a–z 0–9 _ . -`, { field });
  }
}

interface LinkInfo {
  ifname: string;
  linkinfo?: { info_kind?: string; info_slave_kind?: string };
}

/** `ip -d link show` of one device; null when it does not exist. */
async function showLink(name: string): Promise<LinkInfo | null> {
  try {
    const { stdout } = await run('ip', ['-j', '-d', 'link', 'show', 'dev', name]);
    const links = JSON.parse(stdout) as LinkInfo[];
    return links[0] ?? null;
  } catch {
    return null;
  }
}

async function listPorts(bridge: string): Promise<LinkInfo[]> {
  const { stdout } = await run('ip', ['-j', '-d', 'link', 'show', 'master', bridge]);
  return stdout.trim() === '' ? [] : (JSON.parse(stdout) as LinkInfo[]);
}

async function listIpv4(dev: string): Promise<string[]> {
  const { stdout } = await run('ip', ['-j', '-4', 'addr', 'show', 'dev', dev]);
  if (stdout.trim() === '') return [];
  const links = JSON.parse(stdout) as Array<{ addr_info?: Array<{ local?: string; prefixlen?: number }> }>;
  return links.flatMap((l) => (l.addr_info ?? []).map((a) => `${a.local}/${a.prefixlen}`));
}

async function assertNoUplink(bridge: string): Promise<void> {
  for (const port of await listPorts(bridge)) {
    const kind = port.linkinfo?.info_kind;
    if (!kind || !PORT_KINDS.has(kind)) {
      throw new AppError('conflict',
        `bridge ${bridge} has port ${port.ifname} (${kind ?? 'physical'}); Warren's bridge must have no uplink`,
        { field: 'bridge' });
    }
  }
}

async function disableIpv6(bridge: string): Promise<void> {
  try {
    await writeFile(`/proc/sys/net/ipv6/conf/${bridge}/disable_ipv6`, '1');
  } catch {
    // IPv6 not built into the kernel: nothing to disable.
  }
}

/**
 * Creates (or verifies) bridge `name` carrying the gateway address of `subnet`, and
 * brings it up. Idempotent. Throws AppError when the subnet overlaps a host network
 * not on this bridge, when `name` exists but is not a bridge, has another IPv4
 * address, or has a non-workspace port.
 */
export async function ensureBridge(name: string, subnet: string): Promise<{ gateway: string; prefixLen: number }> {
  assertIfname(name);
  const { prefixLen } = parseSubnet(subnet);
  const gateway = gatewayOf(subnet);
  await assertSubnetIsFree(subnet, name);
  const existing = await showLink(name);
  if (existing && existing.linkinfo?.info_kind !== 'bridge') {
    throw new AppError('conflict', `interface ${name} exists and is not a bridge`, { field: 'bridge' });
  }
  if (!existing) {
    // A concurrent creator may win the race; the verification below then still applies.
    await tryRun('ip', ['link', 'add', 'name', name, 'type', 'bridge']);
  }
  // Verify before changing anything, so a bridge that is not ours is left as it was.
  await assertNoUplink(name);
  const want = `${gateway}/${prefixLen}`;
  const have = await listIpv4(name);
  const foreign = have.filter((a) => a !== want);
  if (foreign.length > 0) {
    throw new AppError('conflict',
      `bridge ${name} has address ${foreign.join(', ')}, expected only ${want}; remove it or choose another bridge name`,
      { field: 'bridge' });
  }
  await run('ip', ['link', 'set', 'dev', name, 'type', 'bridge', 'nf_call_iptables', '1', 'nf_call_ip6tables', '1']);
  // A fixed MAC: otherwise the bridge takes the lowest port MAC, which changes as
  // workspaces come and go and leaves their ARP entries for the gateway stale.
  await run('ip', ['link', 'set', 'dev', name, 'address', bridgeMac(gateway)]);
  await disableIpv6(name);
  if (!have.includes(want)) await run('ip', ['addr', 'add', want, 'dev', name]);
  await run('ip', ['link', 'set', 'dev', name, 'up']);
  return { gateway, prefixLen };
}

/** Locally administered unicast MAC derived from the gateway address (02:57:fe:<last 3 bytes>). */
export function bridgeMac(gateway: string): string {
  const b = gateway.split('.').map((x) => Number(x).toString(16).padStart(2, '0'));
  return `02:57:fe:${b[1]}:${b[2]}:${b[3]}`;
}

/** Deletes bridge `name` if it exists. Refuses to delete anything that is not a bridge. */
export async function removeBridge(name: string): Promise<void> {
  assertIfname(name);
  const existing = await showLink(name);
  if (!existing) return;
  if (existing.linkinfo?.info_kind !== 'bridge') {
    throw new AppError('conflict', `interface ${name} is not a bridge; not deleting it`, { field: 'bridge' });
  }
  await tryRun('ip', ['link', 'del', 'dev', name]);
}
