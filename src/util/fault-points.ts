/**
 * Named crash points for fault-injection tests. `faultPoint(name)` marks a step boundary
 * of an operation (create, delete, start/stop, snapshot, restore, fork, archive import,
 * resources and network changes) and does nothing until a hook is installed; the
 * composition root installs one only in test builds (src/server-test-hooks.ts, switched
 * on by WARREN_TEST_CRASH_AT), which SIGKILLs the server at the armed point. Production
 * code never installs a hook, so every call is one null check.
 *
 * Every name is listed in FAULT_POINTS: the crash-point test draws from that list and a
 * unit test checks each listed name is placed somewhere in src/.
 */
export const FAULT_POINTS = [
  // Reservation: the intent records of new workspaces (create, fork) are stored.
  'create.reserved',
  // A cold boot (create, start, restart, start of an archived workspace), src/domain/orchestrator.ts.
  'boot.image-ready',
  'boot.control-files-written',
  'boot.archive-imported',
  'boot.sandbox-created',
  'boot.firewall-registered',
  'boot.network-synced',
  'boot.sandbox-started',
  'boot.agent-answered',
  // Adoption of a warm-pool sandbox.
  'adopt.moved',
  'adopt.configured',
  'adopt.claimed',
  // The namespace driver's steps.
  'driver.create.disk-ready',
  'driver.create.cgroups-ready',
  'driver.create.netns-ready',
  'driver.start.layers-mounted',
  'driver.start.launched',
  'driver.stop.killed',
  'driver.stop.unmounted',
  'driver.destroy.stopped',
  'driver.destroy.netns-deleted',
  'driver.destroy.cgroups-removed',
  // The firewall's per-sandbox elements.
  'firewall.registered',
  'firewall.unregistered',
  // Stop and delete, src/domain/orchestrator.ts.
  'bringdown.stopped',
  'destroy.sandbox-destroyed',
  'destroy.archives-removed',
  'destroy.files-removed',
  // Any recorded operation (src/domain/operations.ts): side effects done, outcome stored.
  'op.side-effects-done',
  'op.outcome-stored',
  'op.record-deleted',
  // Restore.
  'restore.brought-down',
  'restore.layer-replaced',
  // Snapshots and archives (src/domain/layer-ops.ts, snapshots.ts).
  'snapshot.row-pending',
  'snapshot.copied',
  'snapshot.row-ready',
  'snapshot.old-dropped',
  'archive.row-writing',
  'archive.file-written',
  'archive.row-ready',
  // Archive import into a layer (restore from an archive, start of an archived workspace).
  'import.verified',
  'import.layer-written',
  // Fork.
  'fork.seed-taken',
  'fork.reserved',
  // Resources change.
  'resources.applied-live',
  'resources.stored',
  // Network policy and private links.
  'network.policy-stored',
  'network.rules-applied',
  'network.synced',
] as const;

export type FaultPointName = (typeof FAULT_POINTS)[number];

type FaultHook = (name: FaultPointName) => void;

let hook: FaultHook | null = null;

/** A step boundary: a no-op unless a test hook is installed. */
export function faultPoint(name: FaultPointName): void {
  if (hook) hook(name);
}

/** Installs the hook every later `faultPoint` call reaches (test builds only; null removes it). */
export function installFaultHook(fn: FaultHook | null): void {
  hook = fn;
}
