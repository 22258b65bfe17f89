/**
 * `warren purge --data-dir D --yes`: removes every kernel object this instance
 * made — sandboxes (processes, mounts, cgroups, namespaces, veths), its firewall
 * tables, its bridge(s) and owner record(s), and unmounts its storage pool — without
 * needing the server or its database. For uninstalling, for freeing a bridge another
 * instance needs, and for tests to clean up after a failure. The data dir itself is
 * left for the operator to delete.
 *
 * The bridges are those the data dir's owner records name (src/host/owner-records.ts),
 * plus `--bridge` (default warren0); a bridge whose record names another data dir, or
 * (with no record) that another instance's tables filter, is left alone, so purging one
 * instance never takes another's bridge away.
 */
import { loadConfig, type Flags } from '../config/load.js';
import { instancesFilteringBridge, removeInstanceObjects } from '../host/host-objects.js';
import { listRecords, readRecord, removeRecord } from '../host/owner-records.js';

export async function purge(flags: Flags): Promise<void> {
  if (flags.yes !== true) throw new Error('purge destroys every workspace of this instance; pass --yes to confirm');
  const cfg = loadConfig(flags);
  const owned = (await listRecords()).filter((r) => r.dataDir === cfg.dataDir);
  const bridges = new Map<string, string>(owned.map((r) => [r.bridge, r.subnet]));
  if (!bridges.has(cfg.bridge)) bridges.set(cfg.bridge, cfg.subnet);
  let sandboxes = 0;
  const removed: string[] = [];
  const kept: string[] = [];
  for (const [bridge, subnet] of bridges) {
    const owner = await readRecord(bridge);
    // With no record, a bridge another instance's tables still filter is that instance's.
    const others = owner ? [] : (await instancesFilteringBridge(bridge)).filter((id) => id !== cfg.instanceId);
    const ours = owner ? owner.dataDir === cfg.dataDir : others.length === 0;
    sandboxes += await removeInstanceObjects(
      { instanceId: cfg.instanceId, driver: cfg.driver, bridge, subnet, dataDir: cfg.dataDir }, ours);
    if (ours) {
      await removeRecord(bridge, cfg.dataDir);
      removed.push(bridge);
    } else {
      kept.push(`${bridge} (owned by ${owner ? owner.dataDir : `instance ${others.join(', ')}`})`);
    }
  }
  const keptText = kept.length ? `; kept bridge ${kept.join(', ')}` : '';
  process.stdout.write(`purged ${sandboxes} sandbox(es), firewall tables and bridge ${removed.join(', ') || '(none)'}${keptText}\n`);
}
