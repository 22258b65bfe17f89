/**
 * The way off the bridge: policy routing and forwarding for workspace traffic.
 *
 * Traffic arriving on the Warren bridge is routed with its own table (`ip rule iif
 * <bridge> lookup <table>`), whose only route is a default through the upstream
 * device, so Warren never edits the host's main table. Forwarding is switched on for
 * exactly two interfaces (the bridge and the upstream device; the kernel checks the
 * receiving interface), never globally. The firewall (firewall-ruleset.ts) decides
 * which flows may leave and NATs them. With no upstream, forwarding on the bridge
 * stays off and no rule exists: nothing routes off the bridge.
 *
 * Turning forwarding on for the upstream device would also let the host route
 * traffic arriving there to its other interfaces. When the device's forwarding was
 * off before Warren (recorded in the data dir, so a restart still knows), the
 * firewall guards it: what arrives on the upstream device may only be forwarded to
 * the bridge (`guardUpstream`), which keeps the host's behaviour as it was.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { AppError } from '../contract/errors.js';
import { run } from '../util/exec.js';
import { isIpv4 } from './addresses.js';
import { assertIfname } from './bridge.js';

export interface Upstream {
  device: string;
  /** Next hop; null for a point-to-point device. */
  via: string | null;
}

/** Priority of Warren's `iif <bridge>` rules: before main (32766), after local (0). */
const RULE_PRIORITY = 20_000;

/** Routing table of an instance (stable per instance id, clear of the reserved 253–255). */
export function routeTableOf(instanceId: string): number {
  return 0x57_0000 + Number.parseInt(instanceId, 16);
}

async function defaultRoute(): Promise<Upstream | null> {
  const { stdout } = await run('ip', ['-j', '-4', 'route', 'show', 'default']);
  const routes = JSON.parse(stdout || '[]') as Array<{ dev?: string; gateway?: string }>;
  const r = routes.find((x) => x.dev);
  return r?.dev ? { device: r.dev, via: r.gateway ?? null } : null;
}

/** `auto` | `none` | `<dev>` | `<dev>@<via>` → the upstream, or null for none. */
export async function resolveUpstream(spec: string): Promise<Upstream | null> {
  if (spec === 'none') return null;
  if (spec === 'auto') return defaultRoute();
  const [device, via] = spec.split('@');
  assertIfname(device ?? '', 'upstream');
  if (via !== undefined && !isIpv4(via)) throw new AppError('validation_error', `bad upstream gateway ${via}`, { field: 'upstream' });
  return { device: device!, via: via ?? null };
}

async function setForwarding(dev: string, on: boolean): Promise<void> {
  assertIfname(dev);
  const path = `/proc/sys/net/ipv4/conf/${dev}/forwarding`;
  if ((await readFile(path, 'utf8')).trim() !== (on ? '1' : '0')) await writeFile(path, on ? '1' : '0');
}

async function rulesFor(table: number): Promise<Array<{ priority?: number; iif?: string }>> {
  const { stdout } = await run('ip', ['-j', '-4', 'rule', 'show']);
  const rules = JSON.parse(stdout || '[]') as Array<{ priority?: number; iif?: string; table?: string | number }>;
  return rules.filter((r) => String(r.table) === String(table));
}

async function readForwarding(dev: string): Promise<boolean> {
  assertIfname(dev);
  return (await readFile(`/proc/sys/net/ipv4/conf/${dev}/forwarding`, 'utf8')).trim() === '1';
}

async function ownedDevices(stateFile: string): Promise<string[]> {
  try {
    const doc = JSON.parse(await readFile(stateFile, 'utf8')) as { forwardingOwned?: unknown };
    return Array.isArray(doc.forwardingOwned) ? doc.forwardingOwned.filter((d): d is string => typeof d === 'string') : [];
  } catch {
    return [];
  }
}

/**
 * Whether forwarding on the upstream device is (or will be) Warren's doing, and so
 * must be guarded. Records that fact in `stateFile` before anything is switched on.
 */
export async function claimUpstreamForwarding(up: Upstream, stateFile: string): Promise<boolean> {
  const owned = await ownedDevices(stateFile);
  if (owned.includes(up.device)) return true;
  if (await readForwarding(up.device)) return false;
  await mkdir(dirname(stateFile), { recursive: true, mode: 0o700 });
  await writeFile(stateFile, JSON.stringify({ forwardingOwned: [...owned, up.device] }) + '\n', { mode: 0o600 });
  return true;
}

/** Installs (idempotently) the route, the rule and the forwarding switches. */
export async function installUpstream(bridge: string, instanceId: string, up: Upstream): Promise<void> {
  assertIfname(bridge);
  assertIfname(up.device, 'upstream');
  const table = String(routeTableOf(instanceId));
  const via = up.via ? ['via', up.via] : [];
  await run('ip', ['-4', 'route', 'replace', 'default', ...via, 'dev', up.device, 'table', table]);
  const existing = await rulesFor(Number(table));
  if (!existing.some((r) => r.iif === bridge)) {
    await run('ip', ['-4', 'rule', 'add', 'iif', bridge, 'lookup', table, 'priority', String(RULE_PRIORITY)]);
  }
  await setForwarding(bridge, true);
  await setForwarding(up.device, true);
}

/**
 * Removes the instance's rule and table and turns bridge forwarding off. The upstream
 * device's forwarding switch is left as it is: other software may rely on it.
 */
export async function removeUpstream(bridge: string, instanceId: string): Promise<void> {
  const table = routeTableOf(instanceId);
  for (const r of await rulesFor(table)) {
    await run('ip', ['-4', 'rule', 'del', 'lookup', String(table), ...(r.iif ? ['iif', r.iif] : [])]).catch(() => undefined);
  }
  await run('ip', ['-4', 'route', 'flush', 'table', String(table)]).catch(() => undefined);
  await setForwarding(bridge, false).catch(() => undefined);
}

/** Whether `ip` is one of this host's own addresses (an outbound IP must be). */
export async function hostHasAddress(ip: string): Promise<boolean> {
  const { stdout } = await run('ip', ['-j', '-4', 'addr', 'show']);
  const links = JSON.parse(stdout || '[]') as Array<{ addr_info?: Array<{ local?: string }> }>;
  return links.some((l) => l.addr_info?.some((a) => a.local === ip));
}
