/**
 * What the host holds for one Warren instance, found by name alone (no server, no store):
 * its firewall tables, whether its server runs, its sandboxes; and removing all of it.
 * Used by the bridge ownership check at start, by `warren status` and by `warren purge`.
 */
import { access, readFile } from 'node:fs/promises';
import { createDriver } from '../drivers/registry.js';
import { Firewall, removeBridge } from '../network/index.js';
import { tableNames } from '../network/firewall-ruleset.js';
import { removeUpstream } from '../network/upstream.js';
import { releaseStorage } from '../storage/pool.js';
import { run, tryRun } from '../util/exec.js';

export async function pathExists(path: string): Promise<boolean> {
  return access(path).then(() => true, () => false);
}

/** Whether `pid` is a live Warren process (not merely a live pid reused by something else). */
export async function warrenProcessAlive(pid: number): Promise<boolean> {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
    return cmdline.some((arg) => /warren/.test(arg)) && cmdline.includes('serve');
  } catch {
    return false;
  }
}

/** Which of the instance's two tables exist in the kernel. */
export async function presentTables(instanceId: string): Promise<string[]> {
  const t = tableNames(instanceId);
  const out: string[] = [];
  if (await tryRun('nft', ['list', 'table', 'inet', t.inet])) out.push(`inet ${t.inet}`);
  if (await tryRun('nft', ['list', 'table', 'bridge', t.bridge])) out.push(`bridge ${t.bridge}`);
  return out;
}

/** Instance ids of every Warren firewall table in the kernel (`warren_<id>` / `warren_l2_<id>`). */
export async function warrenTableInstances(): Promise<string[]> {
  const { stdout } = await run('nft', ['-j', 'list', 'tables']);
  const doc = JSON.parse(stdout || '{}') as { nftables?: Array<{ table?: { family?: string; name?: string } }> };
  const ids = new Set((doc.nftables ?? []).flatMap((o) => {
    const m = /^warren_(?:l2_)?([0-9a-f]{4})$/.exec(o.table?.name ?? '');
    return m ? [m[1]!] : [];
  }));
  return [...ids].sort();
}

/**
 * Instance ids whose `inet warren_<id>` table filters traffic of `bridge` (its rules
 * name the bridge), from every Warren table in the kernel.
 */
export async function instancesFilteringBridge(bridge: string): Promise<string[]> {
  const out: string[] = [];
  for (const id of await warrenTableInstances()) {
    const text = await run('nft', ['list', 'table', 'inet', `warren_${id}`]).then((r) => r.stdout, () => '');
    if (text.includes(`"${bridge}"`)) out.push(id);
  }
  return out;
}

/** Sandboxes of the instance with something left on the host. */
export async function sandboxCount(driver: string, instanceId: string): Promise<number> {
  return (await createDriver(driver, { instanceId }).listResidue()).length;
}

export interface InstanceObjects {
  instanceId: string;
  driver: string;
  bridge: string;
  /** Any valid subnet: only the firewall's constructor checks it (tables are named by instance). */
  subnet: string;
  /** The instance's data dir, when known: its storage pool is unmounted. */
  dataDir?: string;
}

/**
 * Removes every kernel object of an instance: sandboxes (processes, mounts, cgroups,
 * netns, veths), firewall tables, policy routing, the storage pool mount, and the bridge
 * when `removeTheBridge` (callers decide whether the bridge is the instance's to remove).
 * Returns how many sandboxes were removed.
 */
export async function removeInstanceObjects(o: InstanceObjects, removeTheBridge: boolean): Promise<number> {
  const driver = createDriver(o.driver, { instanceId: o.instanceId });
  const residue = await driver.listResidue();
  for (const shortId of residue) await driver.destroyResidue(shortId);
  await new Firewall({ instanceId: o.instanceId, bridge: o.bridge, subnet: o.subnet }).destroy();
  await removeUpstream(o.bridge, o.instanceId).catch(() => undefined);
  if (o.dataDir) await releaseStorage(o.dataDir);
  if (removeTheBridge) await removeBridge(o.bridge);
  return residue.length;
}
