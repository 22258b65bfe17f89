/**
 * Spawns a sandbox detached from the server, so it survives the server being
 * SIGKILLed: own session, stdout/stderr to a log file (no pipes back to us), and the
 * bwrap info/seccomp fds passed as files. A tiny shell first writes its own PID into
 * every cgroup.procs, then execs `nsenter --net=… bwrap …`, so every process of the
 * sandbox is born inside its cgroups and network namespace.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, watch, type FSWatcher } from 'node:fs';
import { open, readFile, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { AGENT_COMMAND, bwrapArgs, type BwrapLayout } from './bwrap-args.js';
import { statePaths } from './names.js';
import { sandboxSeccompFilter } from '../seccomp.js';
import type { SandboxSpec } from '../driver.js';

const INFO_FD = 3;
const SECCOMP_FD = 4;
/** bwrap reads its options from this fd, so the sandbox's /proc/1/cmdline shows no host paths. */
const ARGS_FD = 5;
/** bwrap writes `{"exit-code": N}` here when the sandbox's main process ends (host-side, trusted). */
const STATUS_FD = 6;
const HOST_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/**
 * `bash -c` script: close every fd above 6 (whatever the server inherited must not reach
 * the sandbox; node does not close non-CLOEXEC fds on spawn), join the N cgroups given
 * as arguments, then exec the rest. bash, not dash: dash cannot name fds above 9.
 */
const JOIN_CGROUPS_AND_EXEC = [
  'for f in /proc/self/fd/*; do n=${f##*/}; case $n in 0|1|2|3|4|5|6) ;; *) eval "exec $n>&-" 2>/dev/null;; esac; done',
  'n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ > "$1" || exit 125; shift; n=$((n-1)); done',
  'exec "$@"',
].join('; ');

export interface LaunchInput {
  spec: SandboxSpec;
  netnsPath: string;
  cgroupProcs: string[];
  layout: Omit<BwrapLayout, 'infoFd' | 'seccompFd' | 'statusFd' | 'rootfs'>;
  timeoutMs?: number;
}

export interface Launched {
  /** Host PID of the sandbox's init (PID 1 inside its PID namespace). */
  pid: number;
  /** Host PID of the outer bwrap process. */
  bwrapPid: number;
}

async function logTail(path: string): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).slice(-2000).trim();
  } catch {
    return '';
  }
}

async function readChildPid(infoPath: string): Promise<number | undefined> {
  try {
    const info = JSON.parse(await readFile(infoPath, 'utf8')) as { 'child-pid'?: unknown };
    return typeof info['child-pid'] === 'number' ? info['child-pid'] : undefined;
  } catch {
    return undefined; // not written (completely) yet
  }
}

const LOG_TAIL_BYTES = 64 * 1024;

/** Keeps the last 64 KiB of the live log in stateDir (the live log unmounts with the layer). */
export async function saveLogTail(liveLog: string, dest: string): Promise<void> {
  let fh;
  try {
    fh = await open(liveLog, 'r');
  } catch {
    return; // layer not mounted or never started
  }
  try {
    const { size } = await fh.stat();
    const len = Math.min(size, LOG_TAIL_BYTES);
    const buf = Buffer.alloc(len);
    await fh.read(buf, 0, len, size - len);
    await writeFile(dest, buf, { mode: 0o600 });
  } finally {
    await fh.close();
  }
}

export async function launchSandbox(input: LaunchInput): Promise<Launched> {
  const p = statePaths(input.spec.stateDir);
  await writeFile(p.seccomp, sandboxSeccompFilter(), { mode: 0o600 });
  const args = bwrapArgs(input.spec, {
    ...input.layout, rootfs: p.rootfs, infoFd: INFO_FD, seccompFd: SECCOMP_FD, statusFd: STATUS_FD,
  });
  // The log lives on the quota'd writable-layer file system: a sandbox writing to its
  // stdout (or reopening it via /proc/N/fd/1) can fill its own quota, not the host disk.
  await writeFile(p.args, args.map((a) => `${a}\0`).join(''), { mode: 0o600 });
  const fds = [openSync(p.liveLog, 'a', 0o600), openSync(p.info, 'w', 0o600), openSync(p.seccomp, 'r'),
    openSync(p.args, 'r'), openSync(p.status, 'w', 0o600)];
  let exited: string | undefined;
  let bwrapPid: number | undefined;
  try {
    const child = spawn('/bin/bash', ['-c', JOIN_CGROUPS_AND_EXEC, 'bash', String(input.cgroupProcs.length),
      ...input.cgroupProcs, 'nsenter', `--net=${input.netnsPath}`, 'bwrap', '--args', String(ARGS_FD), '--', ...AGENT_COMMAND], {
      detached: true,
      stdio: ['ignore', fds[0]!, fds[0]!, fds[1]!, fds[2]!, fds[3]!, fds[4]!],
      env: { PATH: HOST_PATH },
    });
    child.on('error', (err) => { exited = `spawn failed: ${err.message}`; });
    child.on('exit', (code, signal) => { exited = `exited with ${signal ?? code}`; });
    child.unref();
    bwrapPid = child.pid;
  } finally {
    for (const fd of fds) closeSync(fd);
  }
  const deadline = Date.now() + (input.timeoutMs ?? 10_000);
  for (;;) {
    const pid = await readChildPid(p.info);
    if (pid !== undefined && bwrapPid !== undefined) {
      await writeFile(p.pid, `${pid}\n`);
      await writeFile(p.bwrapPid, `${bwrapPid}\n`);
      return { pid, bwrapPid };
    }
    if (exited !== undefined) throw new Error(`sandbox ${input.spec.shortId} ${exited}: ${await logTail(p.liveLog)}`);
    if (Date.now() > deadline) {
      try {
        if (bwrapPid !== undefined) process.kill(bwrapPid, 'SIGKILL');
      } catch { /* already gone */ }
      throw new Error(`sandbox ${input.spec.shortId} did not start within ${input.timeoutMs ?? 10_000} ms`);
    }
    await sleep(2);
  }
}

/**
 * The exit status bwrap recorded for the sandbox's main process, if it ended by itself:
 * the file holds `{"child-pid": …}` then, at the end, `{"exit-code": N}`.
 */
export async function readExitStatus(statusFile: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(statusFile, 'utf8');
  } catch {
    return undefined;
  }
  const m = /"exit-code"\s*:\s*(\d+)/.exec(text);
  return m ? Number(m[1]) : undefined;
}

/**
 * Calls `onExit` once when bwrap records an exit code in `statusFile` (inotify on the
 * file; a final read closes the race with an exit before the watch). Returns the unwatch.
 */
export function watchExitStatus(statusFile: string, onExit: () => void): () => void {
  let done = false;
  let watcher: FSWatcher | undefined;
  const stop = () => {
    done = true;
    watcher?.close();
  };
  const check = () => {
    void readExitStatus(statusFile).then((code) => {
      if (code === undefined || done) return;
      stop();
      onExit();
    });
  };
  try {
    watcher = watch(statusFile, { persistent: false }, check);
    watcher.on('error', () => watcher?.close());
  } catch {
    /* no status file (not started by this build): the domain's periodic check covers it */
  }
  check();
  return stop;
}
