/**
 * Entry point of the in-workspace agent: `/.warren/runtime/bin/node /.warren/dist/agent/main.js`
 * (the runtime bundle's Node, src/contract/agent-runtime.ts).
 *
 * Environment:
 *   WARREN_AGENT_PORT    TCP port of the runtime API (default 9990)
 *   WARREN_AGENT_HOST    listen address (default 0.0.0.0)
 *   WARREN_CONTROL_DIR   read-only control files: token, control-token, config.json (default /.warren/control)
 *   WARREN_LOGS_DIR      writable log directory: cmd.log, workloads/<wid>.log (default /.warren/logs)
 *   WARREN_CGROUP_ROOT   cgroup v1 mount root with writable `<c>/workloads/` (default /sys/fs/cgroup)
 *
 * Imports only node builtins, ./** and the dependency-free ../contract modules, so
 * the sandbox needs no node_modules for it. Logs are JSON lines on stderr.
 */
import { ControlDir } from './control.js';
import { createAgentServer, type AgentLogger } from './server.js';
import { Supervisor } from './supervisor.js';
import { TaskStore } from './exec/tasks.js';
import { setWorkspaceHostname, signalGroup } from './process.js';
import { setupWorkloads } from './workloads/setup.js';
import { SshManager } from './ssh/manager.js';
import { warmUp } from './warm-up.js';

/** Time children get between SIGTERM and SIGKILL when the agent stops. */
const SHUTDOWN_GRACE_MS = 1000;
/** The same when the workspace's command ended (the workspace is ending anyway). */
const CMD_EXIT_GRACE_MS = 200;

const log: AgentLogger = (level, msg, fields = {}) => {
  try {
    process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields })}\n`);
  } catch {
    // stderr gone: nothing useful left to do with a log line
  }
};

function parsePort(raw: string | undefined): number {
  const port = Number(raw ?? 9990);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid WARREN_AGENT_PORT: ${raw}`);
  return port;
}

function main(): void {
  const port = parsePort(process.env.WARREN_AGENT_PORT);
  const host = process.env.WARREN_AGENT_HOST || '0.0.0.0';
  const control = new ControlDir(process.env.WARREN_CONTROL_DIR || '/.warren/control');
  const config = control.config();

  const tasks = new TaskStore();
  // Before anything is spawned: the agent moves into its own cgroup, and keep_logs:false empties the logs.
  const workloads = setupWorkloads({ keepLogs: config.keepLogs !== false, configEnv: () => control.config().env, log });
  // sshd (started at boot when the control dir's ssh.json says so; changed through /_warren/ssh).
  const ssh = new SshManager({ cgroups: workloads.cgroups, log });
  let supervisor: Supervisor | null = null;

  /**
   * The workspace's own start: its workloads, sshd and command, from the config as it is now.
   * At listen for a workspace's sandbox; at the host's claim for a warm-pool one (whose config
   * the host rewrote with the workspace's before claiming). Runs once; a later call is a no-op.
   */
  function bootWorkspace(): boolean {
    if (supervisor) return false;
    const now = control.config();
    if (now.hostname) setWorkspaceHostname(now.hostname);
    // When the workspace ends with its command, the agent leaves with the command's status.
    const onCmdExit = now.exitWithCmd
      ? (code: number) => shutdown(`cmd exited with ${code}`, code, CMD_EXIT_GRACE_MS)
      : undefined;
    supervisor = new Supervisor({
      cmd: now.cmd, env: now.env, onExit: onCmdExit, sink: workloads.cmdLog,
      ...(now.workdir ? { cwd: now.workdir } : {}), ...(now.user ? { user: now.user } : {}),
    });
    log('info', 'workspace boot', { workspace_id: now.workspaceId });
    workloads.workloads.boot(now.workloads);
    void ssh.boot(control.dir).then((st) => {
      if (st.enabled) log(st.running ? 'info' : 'warn', 'ssh at boot', { running: st.running, error: st.error });
    });
    supervisor.start();
    return true;
  }

  const server = createAgentServer({
    tokens: control,
    tasks,
    configEnv: () => control.config().env,
    bootService: () => supervisor?.status() ?? null,
    log,
    controlTokens: { token: () => control.controlToken() },
    internal: { ...workloads.internal, ssh, claim: () => ({ booted: bootWorkspace() }) },
  });

  // The agent must outlive any single bad request or child; log and keep serving.
  process.on('uncaughtException', (err) => log('error', 'uncaught exception', { err: err.stack ?? String(err) }));
  process.on('unhandledRejection', (err) => log('error', 'unhandled rejection', { err: String(err) }));

  // SIGTERM every process group we started, give them a moment, SIGKILL the rest, exit.
  let stopping = false;
  function shutdown(reason: string, exitCode = 0, graceMs = SHUTDOWN_GRACE_MS): void {
    if (stopping) return;
    stopping = true;
    log('info', 'shutting down', { reason });
    const groups = [...tasks.close(), supervisor?.stop(), ...workloads.workloads.shutdown()]
      .filter((p): p is number => p !== undefined);
    server.close();
    server.closeAllConnections();
    setTimeout(() => {
      for (const pid of groups) signalGroup(pid, 'SIGKILL');
      workloads.closeLogs();
      process.exit(exitCode);
    }, graceMs);
  }
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));

  server.on('error', (err) => {
    log('error', 'listen failed', { err: String(err) });
    process.exit(1);
  });
  server.listen(port, host, () => {
    const addr = server.address();
    const bound = typeof addr === 'object' && addr ? addr.port : port;
    log('info', 'agent listening', { host, port: bound, workspace_id: config.workspaceId, pooled: config.pooled === true });
    if (!config.pooled) bootWorkspace();
    else {
      const t0 = performance.now();
      void warmUp({ port: bound, tasks, configEnv: () => control.config().env })
        .then(() => log('info', 'warmed up', { ms: Math.round(performance.now() - t0) }));
    }
  });
}

main();
