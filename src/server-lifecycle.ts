/**
 * The lifecycle machinery around the workspace service, wired for `warren serve`:
 * exit handling (restart policy, remove_on_exit) with one exit watch per running
 * workspace, the activity clock and idle sleep/wake, the deadline scheduler (TTL,
 * restart backoff, idle), and the snapshot, archive and resource services. Timers and
 * watches follow every record write (`onRecord`, fed by the observed store).
 */
import type { NoteLifecycle } from './domain/activity-log.js';
import type { NamespaceGate } from './domain/namespaces.js';
import type { LifecycleConfig } from './config/config.js';
import type { Store, WorkspaceRecord } from './store/store.js';
import { ActivityTracker } from './domain/activity.js';
import { ArchiveService } from './domain/archives.js';
import { ExitHandler, ExitWatch } from './domain/exits.js';
import { IdleService } from './domain/idle.js';
import type { WorkspaceBackend } from './domain/backend.js';
import type { ArchiveFilesPort, DomainDeps } from './domain/ports.js';
import { ResourceService } from './domain/resources.js';
import { LifecycleScheduler } from './domain/scheduler.js';
import { SnapshotService } from './domain/snapshots.js';
import type { QuotaPolicy } from './domain/quota.js';
import type { WorkspaceService } from './domain/workspaces.js';

export interface LifecycleWiring {
  store: Store;
  orchestrator: WorkspaceBackend;
  workspaces: WorkspaceService;
  policy: QuotaPolicy;
  archiveFiles: ArchiveFilesPort;
  config: LifecycleConfig;
  log: DomainDeps['log'];
  /** Exits, snapshots and forks for the activity history. */
  note?: NoteLifecycle;
  /** Namespace limits on a resize. */
  namespaces?: NamespaceGate;
}

export function createLifecycle(w: LifecycleWiring) {
  const activity = new ActivityTracker();
  const exits = new ExitHandler({
    store: w.store, orchestrator: w.orchestrator, workspaces: w.workspaces, log: w.log, note: w.note,
    backoff: { baseMs: w.config.restartBackoffMs, maxMs: w.config.restartBackoffMaxMs },
  });
  const exitWatch = new ExitWatch(w.orchestrator, exits);
  const idle = new IdleService({
    store: w.store, workspaces: w.workspaces, activity,
    minSuspendS: w.config.idleMinSuspendS, minStopS: w.config.idleMinStopS,
    canSleep: w.orchestrator.capabilities.pause,
  });
  const scheduler = new LifecycleScheduler({ store: w.store, workspaces: w.workspaces, idle, activity, log: w.log });
  const snapshots = new SnapshotService({
    store: w.store, orchestrator: w.orchestrator, workspaces: w.workspaces, forkWaitMs: 60_000, log: w.log, note: w.note,
  });
  const archives = new ArchiveService({ store: w.store, orchestrator: w.orchestrator, workspaces: w.workspaces, files: w.archiveFiles });
  const resources = new ResourceService({
    store: w.store, policy: w.policy, orchestrator: w.orchestrator, workspaces: w.workspaces, namespaces: w.namespaces,
  });
  return {
    activity, exits, idle, scheduler, snapshots, archives, resources,
    /** Every record write: re-arm its deadlines and its exit watch. */
    onRecord(rec: WorkspaceRecord | null, id: string): void {
      scheduler.refresh(rec, id);
      exitWatch.sync(rec, id);
      if (!rec) activity.forget(id);
    },
    /** After reconciliation: the exit watches of this host's workspaces. */
    async arm(): Promise<void> {
      for (const rec of await w.store.allWorkspaces()) exitWatch.sync(rec, rec.id);
    },
    /** The deadline scheduler (TTL, restart backoff, idle) runs on the leader only. */
    deadlines: {
      name: 'lifecycle deadlines',
      start: () => scheduler.armAll(),
      stop: () => scheduler.standDown(),
    },
    close(): void {
      scheduler.close();
      exitWatch.close();
    },
  };
}
