/**
 * The start and stop halves of "one owner per bridge" (decision: bridge-owner.ts).
 *
 * `claimBridge` runs at start, before the bridge or any table is touched: it refuses
 * (BridgeOwnedError, a message naming the owner and the ways out) or cleans what a gone
 * owner left and records this instance as the owner. `releaseBridgeIfUnused` runs when
 * `warren serve` stops: with no workspace and no sandbox left it removes the tables, the
 * policy routing, the bridge and the record; otherwise it keeps them, since sandboxes
 * outlive the server by design and the next start reattaches them.
 */
import type { WarrenConfig } from '../config/config.js';
import { tableNames } from '../network/firewall-ruleset.js';
import { bridgePortCount, removeBridge } from '../network/bridge.js';
import { decideOwnership, type OwnerRecord, type OwnershipFacts, type UnrecordedTables } from './bridge-owner.js';
import {
  instancesFilteringBridge, pathExists, presentTables, removeInstanceObjects, sandboxCount, warrenProcessAlive,
} from './host-objects.js';
import { listRecords, readRecord, removeRecord, writeRecord } from './owner-records.js';

type Log = (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;

type OwnerConfig = Pick<WarrenConfig, 'dataDir' | 'instanceId' | 'bridge' | 'subnet' | 'driver'>;

/** The start was refused: another instance owns the bridge. The message is for the operator. */
export class BridgeOwnedError extends Error {
  override readonly name = 'BridgeOwnedError';
}

async function gatherFacts(cfg: OwnerConfig): Promise<OwnershipFacts> {
  const record = await readRecord(cfg.bridge);
  const foreign = record && record.dataDir !== cfg.dataDir ? record : null;
  const known = new Set([cfg.instanceId, ...(record ? [record.instanceId] : [])]);
  const unrecorded: UnrecordedTables[] = [];
  for (const id of await instancesFilteringBridge(cfg.bridge)) {
    if (known.has(id)) continue;
    unrecorded.push({ instanceId: id, tables: await presentTables(id), sandboxes: await sandboxCount(cfg.driver, id) });
  }
  return {
    record,
    ownerDataDirExists: foreign ? await pathExists(foreign.dataDir) : false,
    ownerAlive: foreign ? await warrenProcessAlive(foreign.pid) : false,
    ownerSandboxes: foreign ? await sandboxCount(foreign.driver, foreign.instanceId) : 0,
    unrecorded,
  };
}

function recordOf(cfg: OwnerConfig): OwnerRecord {
  return {
    bridge: cfg.bridge, subnet: cfg.subnet, dataDir: cfg.dataDir, instanceId: cfg.instanceId, driver: cfg.driver,
    pid: process.pid, startedAt: new Date().toISOString(), tables: tableNames(cfg.instanceId),
  };
}

/**
 * Makes this instance the owner of `cfg.bridge` or throws BridgeOwnedError. Two
 * instances starting at once: the record is created exclusively, the loser decides again.
 */
export async function claimBridge(cfg: OwnerConfig, log: Log): Promise<void> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const decision = decideOwnership(cfg, await gatherFacts(cfg));
    if (decision.action === 'refuse') throw new BridgeOwnedError(decision.message);
    const prev = decision.takeOver;
    if (prev) {
      const removed = await removeInstanceObjects(prev, true);
      await removeRecord(prev.bridge, prev.dataDir);
      log('warn', 'took over a bridge whose owner is gone (its data dir no longer exists): removed its leftovers', {
        bridge: cfg.bridge, previousDataDir: prev.dataDir, previousSubnet: prev.subnet, tables: prev.tables, sandboxes: removed,
      });
    }
    for (const u of decision.clearUnrecorded) {
      await removeInstanceObjects({ instanceId: u.instanceId, driver: cfg.driver, bridge: cfg.bridge, subnet: cfg.subnet }, false);
      log('warn', 'removed firewall tables another Warren left on this bridge without an owner record (no sandboxes of it remain)', {
        bridge: cfg.bridge, tables: u.tables,
      });
    }
    if (await writeRecord(recordOf(cfg), /* exclusive */ !decision.ownRecord)) return forgetOtherBridges(cfg, log);
  }
  throw new BridgeOwnedError(`bridge ${cfg.bridge}: another Warren instance keeps claiming it at the same time; try again`);
}

/**
 * An instance's tables filter one bridge (they are named by instance, not by bridge), so
 * once it owns `cfg.bridge` its records of other bridges (it was started with another
 * `--bridge` before) are stale: they go, and so does such a bridge if nothing hangs off it.
 */
async function forgetOtherBridges(cfg: OwnerConfig, log: Log): Promise<void> {
  for (const r of await listRecords()) {
    if (r.dataDir !== cfg.dataDir || r.bridge === cfg.bridge) continue;
    const unused = (await bridgePortCount(r.bridge)) === 0;
    if (unused) await removeBridge(r.bridge);
    await removeRecord(r.bridge, cfg.dataDir);
    log('info', 'this data dir moved to another bridge: the old bridge\'s owner record is removed', {
      oldBridge: r.bridge, bridge: cfg.bridge, oldBridgeRemoved: unused,
    });
  }
}

/** What `releaseBridgeIfUnused` needs from the stopping server. */
export interface ReleaseInputs {
  workspaceCount(): Promise<number>;
  sandboxCount(): Promise<number>;
}

/** At stop: frees the bridge, tables and record when nothing of this instance is left on them. */
export async function releaseBridgeIfUnused(cfg: OwnerConfig, inputs: ReleaseInputs, log: Log): Promise<void> {
  const workspaces = await inputs.workspaceCount();
  const sandboxes = await inputs.sandboxCount();
  if (workspaces > 0 || sandboxes > 0) {
    log('info', 'workspaces remain: the bridge and firewall tables are kept for the next start', {
      bridge: cfg.bridge, workspaces, sandboxes,
    });
    return;
  }
  const record = await readRecord(cfg.bridge);
  if (record && record.dataDir !== cfg.dataDir) return; // not ours (never happens after a claim)
  // The storage pool stays mounted: unmounting it is purge's business, not a stop's.
  await removeInstanceObjects({ instanceId: cfg.instanceId, driver: cfg.driver, bridge: cfg.bridge, subnet: cfg.subnet }, true);
  await removeRecord(cfg.bridge, cfg.dataDir);
  log('info', 'no workspaces left: removed the bridge, firewall tables and owner record', {
    bridge: cfg.bridge, tables: tableNames(cfg.instanceId),
  });
}
