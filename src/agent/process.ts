/**
 * Process helpers shared by exec tasks and the supervisor. Every child runs in its
 * own session (`detached: true` = setsid), so its pid is also its process-group id
 * and one signal to `-pid` reaches everything it forked.
 */
import { constants } from 'node:os';
import { existsSync } from 'node:fs';

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
export const HOME = '/root';

/** Grace period between SIGTERM and SIGKILL when stopping a process group. */
export const KILL_GRACE_MS = 2000;

/** Sends `signal` to the whole process group led by `pid`; false if it is gone. */
export function signalGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * SIGTERM to the group now, SIGKILL after the grace period (also reaching background
 * children that outlive the leader). The timer never keeps the agent alive.
 */
export function stopGroup(pid: number, graceMs = KILL_GRACE_MS): void {
  if (!signalGroup(pid, 'SIGTERM')) return;
  setTimeout(() => signalGroup(pid, 'SIGKILL'), graceMs).unref();
}

/** Shell convention: a process killed by signal N reports 128 + N. */
export function signalExitCode(signal: NodeJS.Signals): number {
  const n = (constants.signals as Record<string, number | undefined>)[signal];
  return 128 + (n ?? 0);
}

/**
 * Environment of workspace processes: the agent's own environment without Warren's
 * private `WARREN_*` variables, sane PATH/HOME defaults, then the workspace env from
 * config.json, then per-request additions (later wins). The agent changes its own
 * environment only through `setWorkspaceHostname` (a warm-pool agent learns its name at the
 * claim), so that first part is computed once and again after such a change (reading
 * `process.env` goes through getenv per key).
 */
export function workspaceEnv(
  configEnv: Record<string, string>,
  extra: Record<string, string> = {},
): Record<string, string> {
  return { ...agentBaseEnv(), ...configEnv, ...extra };
}

let baseEnv: Readonly<Record<string, string>> | null = null;

/** Sets HOSTNAME for every process started from now on. */
export function setWorkspaceHostname(name: string): void {
  process.env.HOSTNAME = name;
  baseEnv = null;
}

function agentBaseEnv(): Readonly<Record<string, string>> {
  if (baseEnv) return baseEnv;
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith('WARREN_')) env[k] = v;
  }
  env.PATH ??= DEFAULT_PATH;
  env.HOME ??= HOME;
  baseEnv = Object.freeze(env);
  return baseEnv;
}

/**
 * The shell offered to people (terminals, `/runtime`'s `shell`): the image's bash when it
 * has one, else its POSIX /bin/sh (busybox, Alpine). Exec's shell mode is always /bin/sh.
 */
export function userShell(): string {
  return existsSync('/bin/bash') ? '/bin/bash' : '/bin/sh';
}

/** The default working directory: /root when it exists, else /. */
export function defaultCwd(): string {
  return existsSync(HOME) ? HOME : '/';
}

export function isoNow(): string {
  return new Date().toISOString();
}
