/**
 * Wiring of the agent's log directory, workload cgroups and workload manager, in the
 * order the agent needs at start: the log directory is emptied (`keep_logs: false`)
 * before anything writes, and the agent moves into its own cgroup before it spawns
 * anything (src/agent/workloads/cgroup.ts).
 *
 * Environment: WARREN_LOGS_DIR (default /.warren/logs), WARREN_CGROUP_ROOT (default
 * /sys/fs/cgroup).
 */
import { EntryLog } from '../logs/entry-log.js';
import { CMD_LOG_CAP, DEFAULT_LOGS_DIR, LogsDir } from '../logs/logs-dir.js';
import type { InternalDeps } from '../routes/internal.js';
import type { AgentLogger } from '../server.js';
import { DEFAULT_CGROUP_ROOT, WorkloadCgroups } from './cgroup.js';
import { WorkloadManager } from './manager.js';

export interface WorkloadSetupOptions {
  keepLogs: boolean;
  configEnv: () => Record<string, string>;
  log: AgentLogger;
  env?: NodeJS.ProcessEnv;
}

export interface WorkloadSetup {
  cmdLog: EntryLog;
  workloads: WorkloadManager;
  /** The delegated cgroup tree (also sshd's `_ssh` group: src/agent/ssh/manager.ts). */
  cgroups: WorkloadCgroups;
  internal: InternalDeps;
  /** Flushes held lines and closes every log file (agent shutdown). */
  closeLogs(): void;
}

export function setupWorkloads(opts: WorkloadSetupOptions): WorkloadSetup {
  const env = opts.env ?? process.env;
  const logsDir = new LogsDir(env.WARREN_LOGS_DIR || DEFAULT_LOGS_DIR);
  if (!logsDir.ensure()) opts.log('warn', 'log directory unavailable; logs are not kept');
  else if (!opts.keepLogs) logsDir.empty();

  const cgroups = new WorkloadCgroups(env.WARREN_CGROUP_ROOT || DEFAULT_CGROUP_ROOT, opts.log);
  const perWorkload = cgroups.init();
  opts.log('info', 'workload cgroups', { enabled: perWorkload });

  let lastError = 0;
  const cmdLog = new EntryLog(logsDir.cmdLogPath(), CMD_LOG_CAP, {
    onError: (err) => {
      if (Date.now() - lastError < 60_000) return;
      lastError = Date.now();
      opts.log('warn', 'cmd log write failed', { err: (err as NodeJS.ErrnoException)?.code ?? String(err) });
    },
  });
  const workloads = new WorkloadManager({ logsDir, cgroups, configEnv: opts.configEnv, log: opts.log });
  return {
    cmdLog,
    workloads,
    cgroups,
    internal: { workloads, logsDir, cmdLog },
    closeLogs() {
      cmdLog.close();
      workloads.closeLogs();
    },
  };
}
