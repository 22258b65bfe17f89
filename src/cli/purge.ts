/**
 * `warren purge --data-dir D --yes`: removes every kernel object this instance
 * made — sandboxes (processes, mounts, cgroups, namespaces, veths), its firewall
 * tables, its bridge, and unmounts its storage pool — without needing the server or its database. For
 * uninstalling, and for tests to clean up after a failure. The data dir itself is
 * left for the operator to delete.
 */
import { loadConfig, type Flags } from '../config/load.js';
import { createDriver } from '../drivers/registry.js';
import { Firewall, removeBridge } from '../network/index.js';
import { removeUpstream } from '../network/upstream.js';
import { releaseStorage } from '../storage/pool.js';

export async function purge(flags: Flags): Promise<void> {
  if (flags.yes !== true) throw new Error('purge destroys every workspace of this instance; pass --yes to confirm');
  const cfg = loadConfig(flags);
  const driver = createDriver(cfg.driver, { instanceId: cfg.instanceId });
  const residue = await driver.listResidue();
  for (const shortId of residue) await driver.destroyResidue(shortId);
  await new Firewall({ instanceId: cfg.instanceId, bridge: cfg.bridge, subnet: cfg.subnet }).destroy();
  await removeUpstream(cfg.bridge, cfg.instanceId).catch(() => undefined);
  await removeBridge(cfg.bridge);
  await releaseStorage(cfg.dataDir);
  process.stdout.write(`purged ${residue.length} sandbox(es), firewall tables and bridge ${cfg.bridge}\n`);
}
