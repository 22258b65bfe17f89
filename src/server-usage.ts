/**
 * Usage accounting and the activity history, wired for `warren serve`: the recorder
 * (samples live workspaces every WARREN_USAGE_INTERVAL_MS), the reports the routes
 * read, the activity log fed by runPending's `activity` hook, and the retention sweep
 * (hourly, and once at start).
 */
import type { UsageConfig } from './config/usage.js';
import type { SandboxStats } from './drivers/driver.js';
import type { Store, WorkspaceRecord } from './store/store.js';
import type { DomainDeps } from './domain/ports.js';
import { ActivityLog } from './domain/activity-log.js';
import { UsageRecorder } from './domain/usage.js';
import { UsageReports } from './domain/usage-report.js';

const SWEEP_MS = 3_600_000;

/** Runs a leader-only write under the current term's fence. */
type Fence = <T>(fn: () => Promise<T>) => Promise<T>;

export interface UsageWiring {
  store: Store;
  config: UsageConfig;
  sample: (rec: WorkspaceRecord) => Promise<SandboxStats>;
  log: DomainDeps['log'];
}

export function createUsage(w: UsageWiring) {
  const activity = new ActivityLog({ store: w.store, log: w.log });
  const reports = new UsageReports({ store: w.store, prices: w.config.prices });
  // Sampling runs on the leader only. A recorder's close is final: each later term gets a new one
  // (the first is made here, so a single host counts workspaces started from start-up on, as before).
  const newRecorder = () => new UsageRecorder({ store: w.store, sample: w.sample, intervalMs: w.config.intervalMs, log: w.log });
  let recorder: UsageRecorder | null = newRecorder();
  let sampling = false;
  let sweepTimer: NodeJS.Timeout | null = null;

  const sweep = async (fence: Fence) => {
    try {
      const { usage, entries } = await fence(async () => ({
        usage: await reports.sweep(w.config.retentionDays),
        entries: await activity.sweep(w.config.activityRetentionDays, w.config.activityMaxPerWorkspace),
      }));
      if (usage || entries) w.log('info', 'usage retention sweep', { usage_buckets: usage, activity_entries: entries });
    } catch (err) {
      w.log('error', 'usage retention sweep failed', { err: String(err) });
    }
  };

  /** Sampling and sweeping stop, after a last sample (leadership lost, or shutdown). */
  const stop = async (): Promise<void> => {
    if (sweepTimer) clearInterval(sweepTimer);
    sweepTimer = null;
    const last = recorder;
    recorder = null;
    if (sampling) await last?.close(); // a last sample, by the recorder that was sampling
    sampling = false;
  };

  return {
    activity,
    reports,
    /**
     * After reconciliation, on the leader: sampling and the retention sweep begin. `fence` runs
     * the sweep's deletes only while this term lasts (LeadershipPort.fenced).
     */
    async start(fence: Fence = (fn) => fn()): Promise<void> {
      w.log('info', 'usage accounting', { interval_ms: w.config.intervalMs, prices: w.config.pricesSource });
      await sweep(fence);
      sweepTimer = setInterval(() => void sweep(fence), SWEEP_MS);
      sweepTimer.unref();
      recorder ??= newRecorder();
      sampling = true;
      await recorder.start();
    },
    forget(id: string): void {
      recorder?.forget(id);
    },
    stop,
    /** A last sample and every pending activity entry written; call before the store closes. */
    async close(): Promise<void> {
      await stop();
      await activity.flush();
    },
  };
}
