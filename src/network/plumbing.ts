/**
 * Per-sandbox network plumbing in the root network namespace: a named netns
 * (/run/netns/<name>) joined to a host bridge through a veth pair whose inner end is
 * `eth0`. Every function is idempotent and converges from any half-made state, because
 * the reconciler may call it again after a crash at any point. The bridge itself
 * belongs to src/network/bridge.ts.
 */
import { existsSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import { run, tryRun } from '../util/exec.js';
import { BRIDGE_MAX_WORKSPACES, bridgeFull, bridgePortCount } from './bridge.js';

const NETNS_DIR = '/run/netns';
/** statfs f_type of a mounted namespace file ("nsfs"). */
const NSFS_MAGIC = 0x6e736673;
const IFNAMSIZ = 15;

export interface NetnsVethOptions {
  netnsName: string;
  /** Host side of the veth pair (≤ 15 chars). */
  hostIf: string;
  bridge: string;
  ip: string;
  prefixLen: number;
  gateway: string;
}

/**
 * MAC of the inner `eth0`, derived from its IP (02:57 + the four address bytes, locally
 * administered unicast). A re-created veth keeps the MAC its IP had, so the host's and
 * the other sandboxes' ARP caches stay right; a random MAC would leave them pointing at
 * the old one for ~9 s (STALE → DELAY → PROBE → FAILED).
 */
export function macForIp(ip: string): string {
  assertAddress(ip);
  return ['02', '57', ...ip.split('.').map((p) => Number(p).toString(16).padStart(2, '0'))].join(':');
}

export function netnsPath(name: string): string {
  return `${NETNS_DIR}/${name}`;
}

function checkName(kind: string, name: string, max: number): void {
  if (!/^[A-Za-z0-9_.-]+$/.test(name) || name.length > max) throw new Error(`invalid ${kind} name: ${name}`);
}

/** True when /run/netns/<name> exists and really holds a namespace (not a stale file). */
export async function netnsExists(name: string): Promise<boolean> {
  try {
    return (await statfs(netnsPath(name))).type === NSFS_MAGIC;
  } catch {
    return false;
  }
}

export function linkExists(ifName: string): boolean {
  return existsSync(`/sys/class/net/${ifName}`);
}

async function ensureNetns(name: string): Promise<void> {
  if (await netnsExists(name)) return;
  // A plain file left by a crash between creat() and the bind mount blocks `ip netns add`.
  if (existsSync(netnsPath(name))) await tryRun('ip', ['netns', 'delete', name]);
  await run('ip', ['netns', 'add', name]);
}

/** The veth pair, its host end on the bridge and up. A fresh pair is one `ip -batch` (each `ip` costs ≈ 10 ms to start). */
async function ensureVeth(opts: NetnsVethOptions): Promise<void> {
  const attach = `link set ${opts.hostIf} master ${opts.bridge} up`;
  if (linkExists(opts.hostIf)) {
    if (await tryRun('ip', ['-n', opts.netnsName, 'link', 'show', 'eth0'])) {
      await run('ip', attach.split(' '));
      return;
    }
    // Host end exists but its peer is not `eth0` in our netns: rebuild the pair.
    await run('ip', ['link', 'delete', opts.hostIf]);
  }
  // A full bridge refuses the port (EXFULL): refuse the workspace with a stable code instead.
  if (await bridgePortCount(opts.bridge) >= BRIDGE_MAX_WORKSPACES) throw bridgeFull(opts.bridge);
  const add = `link add ${opts.hostIf} type veth peer name eth0 address ${macForIp(opts.ip)} netns ${opts.netnsName}`;
  try {
    await run('ip', ['-batch', '-'], { input: `${add}\n${attach}\n` });
  } catch (err) {
    // Two creates raced for the last port: the loser gets the same refusal, not the kernel's text.
    if (await bridgePortCount(opts.bridge) >= BRIDGE_MAX_WORKSPACES) {
      await tryRun('ip', ['link', 'delete', opts.hostIf]);
      throw bridgeFull(opts.bridge);
    }
    throw err;
  }
}

/** Creates (or repairs) the netns, the veth pair, addresses and the default route. */
export async function createNetns(opts: NetnsVethOptions): Promise<void> {
  checkName('netns', opts.netnsName, 64);
  checkName('interface', opts.hostIf, IFNAMSIZ);
  checkName('bridge', opts.bridge, IFNAMSIZ);
  if (!linkExists(opts.bridge)) throw new Error(`bridge ${opts.bridge} does not exist`);
  assertAddress(opts.ip);
  assertAddress(opts.gateway);
  if (!Number.isInteger(opts.prefixLen) || opts.prefixLen < 1 || opts.prefixLen > 32) {
    throw new Error(`invalid prefix length: ${opts.prefixLen}`);
  }
  await ensureNetns(opts.netnsName);
  await ensureVeth(opts);
  // Inside the namespace: one `ip -batch` instead of four processes. `replace` is idempotent.
  const batch = [
    `addr replace ${opts.ip}/${opts.prefixLen} dev eth0`,
    'link set lo up',
    'link set eth0 up',
    `route replace default via ${opts.gateway} dev eth0`,
  ].join('\n');
  await run('ip', ['-n', opts.netnsName, '-batch', '-'], { input: `${batch}\n` });
}

function assertAddress(ip: string): void {
  const parts = ip.split('.');
  const ok = parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
  if (!ok) throw new Error(`invalid IPv4 address: ${ip}`);
}

/** Removes the veth pair and the netns; absent parts are fine. */
export async function deleteNetns(opts: Pick<NetnsVethOptions, 'netnsName' | 'hostIf'>): Promise<void> {
  if (linkExists(opts.hostIf)) await tryRun('ip', ['link', 'delete', opts.hostIf]);
  if (existsSync(netnsPath(opts.netnsName))) await run('ip', ['netns', 'delete', opts.netnsName]);
}

/** Names of every netns in /run/netns (used for residue scans). */
export async function listNetns(): Promise<string[]> {
  const { readdir } = await import('node:fs/promises');
  try {
    return await readdir(NETNS_DIR);
  } catch {
    return [];
  }
}
