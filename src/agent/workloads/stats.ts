/**
 * Stats of a workload without its own cgroups: summed over its processes from /proc.
 * "Its processes" are the leader's session (workloads are started with setsid, so the
 * session id is the leader's pid; orphans that stay in it are counted) plus any
 * descendant of the leader that made a session of its own. CPU includes children already
 * reaped (cutime/cstime), so the counter only grows while one process runs; it starts
 * again from zero with each restart, which the host's rate computation must tolerate.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { CgroupUsage } from './cgroup.js';

/** USER_HZ: the unit of /proc/<pid>/stat times; 100 on every Linux ABI node runs on. */
const CLK_TCK = 100;
const NS_PER_TICK = 1e9 / CLK_TCK;
/** Page size for the rss field; 4 KiB on x86-64 and the usual arm64 kernels. */
const PAGE_SIZE = 4096;

interface ProcStat {
  pid: number;
  ppid: number;
  session: number;
  ticks: number;
  childTicks: number;
  rssPages: number;
}

/** Parses /proc/<pid>/stat; the command name may hold spaces and parentheses. */
export function parseProcStat(text: string): ProcStat | null {
  const close = text.lastIndexOf(')');
  const pid = Number.parseInt(text, 10);
  if (close < 0 || !Number.isInteger(pid)) return null;
  // Fields after the name, starting with field 3 (state) at index 0.
  const f = text.slice(close + 2).trim().split(/\s+/);
  const n = (i: number) => Number(f[i - 3] ?? 0);
  return {
    pid,
    ppid: n(4),
    session: n(6),
    ticks: n(14) + n(15),
    childTicks: n(16) + n(17),
    rssPages: n(24),
  };
}

function allProcs(): ProcStat[] {
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return [];
  }
  const out: ProcStat[] = [];
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const st = parseProcStat(readFileSync(`/proc/${name}/stat`, 'utf8'));
      if (st) out.push(st);
    } catch {
      /* exited while we looked */
    }
  }
  return out;
}

/** The processes of the workload whose leader is `leader`. */
export function workloadProcs(leader: number, procs: ProcStat[] = allProcs()): ProcStat[] {
  const children = new Map<number, ProcStat[]>();
  for (const p of procs) {
    const list = children.get(p.ppid);
    if (list) list.push(p);
    else children.set(p.ppid, [p]);
  }
  const picked = new Map<number, ProcStat>();
  for (const p of procs) if (p.session === leader || p.pid === leader) picked.set(p.pid, p);
  const queue = [...picked.values()];
  while (queue.length > 0) {
    const p = queue.pop() as ProcStat;
    for (const c of children.get(p.pid) ?? []) {
      if (picked.has(c.pid)) continue;
      picked.set(c.pid, c);
      queue.push(c);
    }
  }
  return [...picked.values()];
}

/** Stats summed from /proc; zeros when the leader is gone. */
export function procUsage(leader: number | undefined): CgroupUsage {
  if (leader === undefined) return { cpu_usage_ns: 0, memory_bytes: 0, pids: 0 };
  const procs = workloadProcs(leader);
  let ticks = 0;
  let rss = 0;
  for (const p of procs) {
    ticks += p.ticks + p.childTicks;
    rss += p.rssPages;
  }
  return { cpu_usage_ns: Math.round(ticks * NS_PER_TICK), memory_bytes: rss * PAGE_SIZE, pids: procs.length };
}
