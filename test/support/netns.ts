/**
 * A "host" for one node daemon of the fleet tests (issue 16): a network namespace of this
 * test process (`wfl<pid>n<i>`) joined to the test host by a veth pair (`wfh<pid>n<i>` on
 * the host, `wfp<pid>n<i>` inside) on a private /30 of 10.251.0.0/16 (host .1, namespace .2).
 * There is no default route inside: the connected /30 is all a node needs (the host's
 * PostgreSQL, and the replicas reaching its relay), and nothing in it can reach past the host.
 *
 * Mounts: a process that only enters the network namespace still sees the host's sysfs,
 * whose /sys/class/net lists the HOST's interfaces (sysfs shows the netns of whoever
 * mounted it), so the node would not find its own bridge. Each namespace therefore also
 * has a persistent mount namespace (bound to a file) copied from the host's, in which
 * /sys/class/net and /sys/devices/virtual/net come from a sysfs mounted inside the
 * network namespace. Everything else is the host's: cgroups, loop devices, processes and
 * /run/netns (a shared mount, so sandbox namespaces the node adds are visible on the
 * host). The node's own mounts (overlays, disks) stay in its mount namespace, which
 * outlives a killed node, so a restarted node finds its sandboxes' mounts again.
 *
 * `enter(argv)` is the argv that runs a command in both namespaces via `nsenter` (which
 * execs it: a spawned child's PID is the command's own). `stop()` runs the cleanups
 * registered with `own()` (latest first: node daemons are stopped and purged inside),
 * then removes the mount namespace, the network namespace (its bridges and nft tables go
 * with it), the veth and the temporary directory; so does the process exit hook after a
 * failure, and after SIGINT, SIGTERM or SIGHUP (made an exit). Nothing it did not create is touched.
 */
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, type ExecResult } from '../../src/util/exec.js';
import { findConflicts, readHostAddresses, readHostRoutes } from '../../src/network/routes.js';
import { ROOT } from './warren.js';

export interface NodeNamespace {
  /** The network namespace's name (/run/netns/<name>). */
  readonly name: string;
  readonly hostIf: string;
  readonly nsIf: string;
  /** The host end's address: how the node reaches the host (PostgreSQL). */
  readonly hostIp: string;
  /** The namespace end's address: where the node's relay is reached. */
  readonly nsIp: string;
  /** The /30 both ends are on. */
  readonly network: string;
  /** The file the mount namespace is bound to. */
  readonly mountNs: string;
  /** `nsenter … -- argv`: runs argv in this namespace (network and mount), cwd the repository. */
  enter(argv: readonly string[]): string[];
  /** Runs a command inside; rejects on a non-zero exit. */
  exec(argv: readonly string[], opts?: { timeoutMs?: number; env?: NodeJS.ProcessEnv }): Promise<ExecResult>;
  /** Spawns a command inside; the child's PID is the command's own. */
  spawn(argv: readonly string[], opts?: SpawnOptions): ChildProcess;
  /** A synchronous cleanup to run inside before the namespace goes (stop and exit hook), latest first; returns its removal. */
  own(cleanup: () => void): () => void;
  stop(): Promise<void>;
}

/** Runs a command synchronously and never throws (cleanup paths). */
function quiet(cmd: string, args: readonly string[]): boolean {
  return spawnSync(cmd, args as string[], { stdio: 'ignore', timeout: 60_000 }).status === 0;
}

/** A /30 in 10.251.0.0/16 that no host route or address overlaps (checked as its /28: the checker's smallest). */
async function freeNetwork(hostIf: string): Promise<{ base: string; hostIp: string; nsIp: string }> {
  const [routes, addrs] = await Promise.all([readHostRoutes(), readHostAddresses()]);
  for (let tries = 0; tries < 100; tries++) {
    const c = Math.floor(Math.random() * 256);
    const d = 16 * Math.floor(Math.random() * 16);
    const base = `10.251.${c}.${d}`;
    if (findConflicts(`${base}/28`, hostIf, routes, addrs).length === 0) {
      return { base, hostIp: `10.251.${c}.${d + 1}`, nsIp: `10.251.${c}.${d + 2}` };
    }
  }
  throw new Error('test netns: no free /30 in 10.251.0.0/16');
}

/**
 * The mount namespace: a copy of the host's (propagation unchanged: /run/netns stays
 * shared, the rest is private like on the host) with the network parts of sysfs taken
 * from a sysfs mounted inside the network namespace.
 */
async function makeMountNamespace(netns: string, dir: string, file: string): Promise<void> {
  const sys = join(dir, 'sys');
  writeFileSync(file, '');
  mkdirSync(sys);
  const script = [
    'set -e',
    `mount -t sysfs wfl-sysfs "${sys}"`,
    `mount --bind "${sys}/class/net" /sys/class/net`,
    `mount --bind "${sys}/devices/virtual/net" /sys/devices/virtual/net`,
    `umount "${sys}"`,
  ].join('; ');
  await run('nsenter', [`--net=/run/netns/${netns}`, '--', 'unshare', `--mount=${file}`, '--propagation', 'unchanged', '--', 'sh', '-c', script]);
}

/**
 * A test process ended by a signal (the runner's timeout, Ctrl-C) runs no 'exit' hooks, and
 * a node's sandboxes would outlive it. Turn those signals into an exit (which runs every
 * hook: these namespaces', the nodes' purges, PostgreSQL's) unless something else handles them.
 */
let signalsHandled = false;
function exitOnSignals(): void {
  if (signalsHandled) return;
  signalsHandled = true;
  const codes: Array<[NodeJS.Signals, number]> = [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]];
  for (const [signal, code] of codes) {
    if (process.listenerCount(signal) === 0) process.once(signal, () => process.exit(code));
  }
}

/** Namespace `i` (0–9) of this test process. */
export async function startNodeNamespace(i: number): Promise<NodeNamespace> {
  if (!Number.isInteger(i) || i < 0 || i > 9) throw new Error(`test netns: index ${i} is not 0–9`);
  const tag = `${process.pid}n${i}`;
  const name = `wfl${tag}`;
  const hostIf = `wfh${tag}`;
  const nsIf = `wfp${tag}`;
  const net = await freeNetwork(hostIf);
  const dir = mkdtempSync(join(tmpdir(), `warren-fleet-${tag}-`));
  const inner: Array<() => void> = [];
  const mountNs = join(dir, 'mnt');
  let made = { netns: false, veth: false };

  /** Synchronous: the exit hook cannot wait. Each step is skipped when its object was never made. */
  const cleanup = () => {
    for (const fn of inner.splice(0).reverse()) {
      try {
        fn();
      } catch {
        /* the next cleanup still runs */
      }
    }
    quiet('umount', [mountNs]); // fails harmlessly when it was never bound
    if (made.netns) quiet('ip', ['netns', 'delete', name]);
    if (made.veth) quiet('ip', ['link', 'delete', hostIf]); // usually gone with its peer already
    made = { netns: false, veth: false };
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', cleanup);
  exitOnSignals();

  const enter = (argv: readonly string[]) =>
    ['nsenter', `--net=/run/netns/${name}`, `--mount=${mountNs}`, `--wd=${ROOT}`, '--', ...argv];
  try {
    await run('ip', ['netns', 'add', name]);
    made.netns = true;
    await run('ip', ['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf]);
    made.veth = true;
    await run('ip', ['link', 'set', nsIf, 'netns', name]);
    await run('ip', ['addr', 'add', `${net.hostIp}/30`, 'dev', hostIf]);
    await run('ip', ['link', 'set', hostIf, 'up']);
    await run('ip', ['-n', name, 'addr', 'add', `${net.nsIp}/30`, 'dev', nsIf]);
    await run('ip', ['-n', name, 'link', 'set', nsIf, 'up']);
    await run('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
    await makeMountNamespace(name, dir, mountNs);
  } catch (err) {
    cleanup();
    process.removeListener('exit', cleanup);
    throw err;
  }
  return {
    name, hostIf, nsIf, hostIp: net.hostIp, nsIp: net.nsIp, network: `${net.base}/30`, mountNs,
    enter,
    exec: (argv, opts = {}) => {
      const [cmd, ...args] = enter(argv);
      return run(cmd!, args, { timeoutMs: opts.timeoutMs, env: opts.env });
    },
    spawn: (argv, opts = {}) => {
      const [cmd, ...args] = enter(argv);
      return spawn(cmd!, args, opts);
    },
    own(fn) {
      inner.push(fn);
      return () => {
        const at = inner.indexOf(fn);
        if (at >= 0) inner.splice(at, 1);
      };
    },
    async stop() {
      cleanup();
      process.removeListener('exit', cleanup);
    },
  };
}
