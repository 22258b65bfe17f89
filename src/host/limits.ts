/**
 * Host limits that a full Warren bridge would hit, checked (and where Warren owns
 * them, raised) once at start-up. Sized for `BRIDGE_MAX_WORKSPACES`: a Linux bridge
 * holds at most 1,024 ports (BR_MAX_PORTS; port number 0 is reserved), and every
 * workspace is one port, so one instance never runs more workspaces than that.
 *
 * Owned (raised to the floor when lower, never lowered; each change is logged):
 * - IPv4/IPv6 neighbour tables (`gc_thresh1/2/3`, default 128/512/1024): the table is
 *   one for the whole kernel, every network namespace included, and each workspace
 *   adds at least two entries (the bridge learns it, its netns learns the gateway);
 *   past `gc_thresh3` the kernel drops new neighbours ("neighbour table overflow").
 * - inotify instances and watches: every sandbox runs as host uid 0, so all
 *   workspaces share root's budget (default 128 instances).
 *
 * Checked only (host policy Warren does not own; a warning says what to raise):
 * conntrack entries, pid_max, threads-max, the server's open-file limit (Node raises
 * its soft limit to the hard one itself), network/mount namespaces per user. Loop
 * devices need no check: /dev/loop-control makes them on demand, `max_loop` only
 * pre-creates.
 *
 * `procSys` is a parameter so tests run against a directory of their own; a missing
 * file (an IPv6-less kernel, conntrack not loaded) is skipped, never an error.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BRIDGE_MAX_WORKSPACES } from '../network/bridge.js';

export { BRIDGE_MAX_WORKSPACES };

export interface HostLimit {
  /** sysctl name, e.g. `net.ipv4.neigh.default.gc_thresh3`. */
  key: string;
  /** The value a full bridge needs. */
  floor: number;
  /** Warren raises it (true) or only warns (false). */
  owned: boolean;
  /** What runs out, for the log. */
  why: string;
}

const N = BRIDGE_MAX_WORKSPACES;

function neighbourFloors(family: 'ipv4' | 'ipv6'): HostLimit[] {
  const why = 'neighbour entries: two or more per workspace, counted across every namespace';
  return [
    { key: `net.${family}.neigh.default.gc_thresh1`, floor: 2 * 1024, owned: true, why },
    { key: `net.${family}.neigh.default.gc_thresh2`, floor: 8 * 1024, owned: true, why },
    { key: `net.${family}.neigh.default.gc_thresh3`, floor: 16 * 1024, owned: true, why },
  ];
}

export const HOST_LIMITS: readonly HostLimit[] = [
  ...neighbourFloors('ipv4'),
  ...neighbourFloors('ipv6'),
  { key: 'fs.inotify.max_user_instances', floor: 8 * 1024, owned: true, why: 'inotify instances of uid 0, which every sandbox runs as' },
  { key: 'fs.inotify.max_user_watches', floor: 512 * 1024, owned: true, why: 'inotify watches of uid 0, which every sandbox runs as' },
  { key: 'net.netfilter.nf_conntrack_max', floor: 64 * N, owned: false, why: 'tracked flows of all workspaces' },
  { key: 'kernel.pid_max', floor: 32 * N, owned: false, why: 'processes and threads (each workspace agent alone runs about 11)' },
  { key: 'kernel.threads-max', floor: 32 * N, owned: false, why: 'threads of all workspaces' },
  { key: 'user.max_net_namespaces', floor: 2 * N, owned: false, why: 'one network namespace per workspace' },
  { key: 'user.max_mnt_namespaces', floor: 4 * N, owned: false, why: 'mount namespaces of the sandboxes' },
];

/** Open files of the server: agent connections, logs and streams of every workspace. */
export const NOFILE_FLOOR = 16 * N;

export interface LimitOutcome {
  key: string;
  before: number;
  after: number;
  /** raised: Warren wrote the floor; low: below the floor and not Warren's to change (or the write failed). */
  status: 'ok' | 'raised' | 'low';
}

type Log = (level: 'info' | 'warn', msg: string, fields: Record<string, unknown>) => void;

async function readNumber(path: string): Promise<number | null> {
  try {
    const v = Number((await readFile(path, 'utf8')).trim().split(/\s+/)[0]);
    return Number.isFinite(v) ? v : null;
  } catch {
    return null;
  }
}

async function checkOne(limit: HostLimit, procSys: string, log: Log): Promise<LimitOutcome | null> {
  const path = join(procSys, ...limit.key.split('.'));
  const before = await readNumber(path);
  if (before === null) return null;
  if (before >= limit.floor) return { key: limit.key, before, after: before, status: 'ok' };
  if (limit.owned) {
    try {
      await writeFile(path, `${limit.floor}\n`);
      log('info', 'host limit raised for a full bridge', { key: limit.key, from: before, to: limit.floor, why: limit.why });
      return { key: limit.key, before, after: limit.floor, status: 'raised' };
    } catch {
      // A read-only /proc/sys (an unprivileged container): report it as low.
    }
  }
  log('warn', 'host limit below what a full bridge needs; raise it with sysctl', { key: limit.key, value: before, recommended: limit.floor, why: limit.why });
  return { key: limit.key, before, after: before, status: 'low' };
}

/** Soft open-file limit of this process, from /proc/self/limits (null when unreadable). */
async function openFileLimit(procSelf: string): Promise<number | null> {
  try {
    const line = (await readFile(join(procSelf, 'limits'), 'utf8')).split('\n').find((l) => l.startsWith('Max open files'));
    const soft = line?.split(/\s{2,}/)[1];
    return soft === 'unlimited' ? Infinity : soft ? Number(soft) : null;
  } catch {
    return null;
  }
}

/**
 * Checks every limit in HOST_LIMITS (raising the owned ones) and the server's open
 * files. Returns what it found; never throws.
 */
export async function ensureHostLimits(log: Log, opts: { procSys?: string; procSelf?: string } = {}): Promise<LimitOutcome[]> {
  const procSys = opts.procSys ?? '/proc/sys';
  const out: LimitOutcome[] = [];
  for (const limit of HOST_LIMITS) {
    const r = await checkOne(limit, procSys, log);
    if (r) out.push(r);
  }
  const nofile = await openFileLimit(opts.procSelf ?? '/proc/self');
  if (nofile !== null) {
    const status = nofile >= NOFILE_FLOOR ? 'ok' : 'low';
    if (status === 'low') log('warn', 'open-file limit of the server below what a full bridge needs; raise LimitNOFILE / ulimit -n', { value: nofile, recommended: NOFILE_FLOOR });
    out.push({ key: 'RLIMIT_NOFILE', before: nofile, after: nofile, status });
  }
  return out;
}
