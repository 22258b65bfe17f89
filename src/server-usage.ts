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

export interface UsageWiring {
  store: Store;
  config: UsageConfig;
  sample: (rec: WorkspaceRecord) => Promise<SandboxStats>;
  log: DomainDeps['log'];
}

export function createUsage(w: UsageWiring) {
  const activity = new ActivityLog({ store: w.store, log: w.log });
  const reports = new UsageReports({ store: w.store, prices: w.config.prices });
  const recorder = new UsageRecorder({ store: w.store, sample: w.sample, intervalMs: w.config.intervalMs, log: w.log });
  let sweepTimer: NodeJS.Timeout | null = null;

  const sweep = async () => {
    try {
      const usage = await reports.sweep(w.config.retentionDays);
      const entries = await activity.sweep(w.config.activityRetentionDays, w.config.activityMaxPerWorkspace);
      if (usage || entries) w.log('info', 'usage retention sweep', { usage_buckets: usage, activity_entries: entries });
    } catch (err) {
      w.log('error', 'usage retention sweep failed', { err: String(err) });
    }
  };

  return {
    activity,
    reports,
    /** After reconciliation: sampling and the retention sweep begin. */
    async start(): Promise<void> {
      w.log('info', 'usage accounting', { interval_ms: w.config.intervalMs, prices: w.config.pricesSource });
      await sweep();
      sweepTimer = setInterval(() => void sweep(), SWEEP_MS);
      sweepTimer.unref();
      await recorder.start();
    },
    forget(id: string): void {
      recorder.forget(id);
    },
    /** A last sample and every pending activity entry written; call before the store closes. */
    async close(): Promise<void> {
      if (sweepTimer) clearInterval(sweepTimer);
      await recorder.close();
      await activity.flush();
    },
  };
}
