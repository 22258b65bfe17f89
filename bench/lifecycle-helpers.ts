/**
 * Helpers of bench/lifecycle.ts: timing, workspace set-up through the official client
 * (runtime access, sleep loops, blobs of random data) and the two host baselines — a
 * freezer cgroup of our own holding sleep loops, and `tar` of a directory of random data.
 * Every host object made here (cgroup, processes, temp dirs) is removed before returning,
 * also on failure.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Oblien, { Runtime } from 'oblien';
import { api, type TestServer } from '../test/support/warren.js';

export type Client = InstanceType<typeof Oblien>;
export type Rt = InstanceType<typeof Runtime>;
export interface Ws { id: string; token: string; rt: Rt }

/**
 * Seconds each busy loop sleeps between wake-ups (one fork+exec of `sleep` each time).
 * 0.05 s × 100 loops saturates both cores of the 2-core bench machine on its own; 0.2 s
 * keeps 100 loops busy (≈ 500 execs/s) without starving the server being measured.
 */
export const LOOP_SLEEP_S = 0.2;
const LOOP = `while :; do sleep ${LOOP_SLEEP_S}; done`;

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function msSince(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

export async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return msSince(t0);
}

/** Runs `cmd` in the workspace; throws unless it exits 0. */
export async function execOk(rt: Rt, cmd: string[], timeoutSeconds = 60): Promise<string> {
  const r = await rt.exec.run(cmd, { timeoutSeconds });
  if (r.exit_code !== 0) throw new Error(`${cmd.join(' ')} failed (${r.exit_code ?? r.error ?? JSON.stringify(r)}): ${r.stderr ?? ''}`);
  return r.stdout ?? '';
}

/** public_access + apiAccess.enable, as a user reaches a workspace through the gateway. */
export async function runtimeFor(client: Client, server: TestServer, id: string): Promise<Ws> {
  await client.workspaces.network.update(id, { public_access: true });
  const { token } = await client.workspaces.apiAccess.enable(id);
  if (!token) throw new Error(`apiAccess.enable(${id}) gave no token`);
  return { id, token, rt: new Runtime({ token, baseUrl: server.url }) };
}

/** Create → enable → first `exec true` answered: the path every fork and fresh workspace takes. */
export async function firstExec(client: Client, server: TestServer, id: string): Promise<Ws> {
  const ws = await runtimeFor(client, server, id);
  await execOk(ws.rt, ['true']);
  return ws;
}

export async function newWorkspace(client: Client, server: TestServer): Promise<Ws> {
  const ws = await client.workspaces.create({ image: 'debian-12', memory_mb: 256, disk_size_mb: 2048 });
  return firstExec(client, server, ws.id);
}

/** Writes `mib` MiB of random data to /root/blob and flushes it, so no run pays for writeback. */
export async function writeBlob(rt: Rt, mib: number): Promise<void> {
  await execOk(rt, ['sh', '-c', `head -c ${mib}M /dev/urandom > /root/blob && sync`], 600);
  await checkBlob(rt, mib);
}

export async function checkBlob(rt: Rt, mib: number): Promise<void> {
  const size = Number((await execOk(rt, ['stat', '-c', '%s', '/root/blob'])).trim());
  if (size !== mib * 1024 * 1024) throw new Error(`/root/blob holds ${size} bytes, want ${mib} MiB`);
}

/** Polls the control plane (not the gateway: no traffic that would count as activity). */
export async function waitUntil(what: string, check: () => Promise<boolean> | boolean, ms = 60_000, every = 50): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(every);
  }
}

export async function workspaceStatus(server: TestServer, id: string): Promise<string | undefined> {
  return (await api(server, 'GET', `/workspace/${id}`)).body?.workspace?.status;
}

/** Starts `count` more sleep loops in the workspace, outliving the exec that starts them. */
export async function startBusyLoops(rt: Rt, count: number): Promise<void> {
  await execOk(rt, ['sh', '-c', `echo '${LOOP}' > /tmp/busy-loop.sh; for i in $(seq ${count}); do sh /tmp/busy-loop.sh >/dev/null 2>&1 & done`]);
}

/** Loop shells alive in the workspace (`[p]`: the grep and its shell do not match themselves). */
export async function countBusyLoops(rt: Rt): Promise<number> {
  return Number((await execOk(rt, ['sh', '-c', "grep -l 'busy-loo[p]' /proc/[0-9]*/cmdline 2>/dev/null | wc -l"])).trim());
}

/** Writes `want` to freezer.state and spins until the kernel reports it (nudging a stuck FREEZING). */
function setFreezer(cg: string, want: 'FROZEN' | 'THAWED'): number {
  const file = join(cg, 'freezer.state');
  const t0 = process.hrtime.bigint();
  writeFileSync(file, want);
  let nudge = msSince(t0) + 2;
  while (readFileSync(file, 'utf8').trim() !== want) {
    const ms = msSince(t0);
    if (ms > 5000) throw new Error(`host freezer did not reach ${want} in 5 s`);
    if (ms > nudge) {
      writeFileSync(file, want);
      nudge = ms + 2;
    }
  }
  return msSince(t0);
}

function cgroupPids(cg: string): number[] {
  return readFileSync(join(cg, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
}

/**
 * Baseline of pause/resume: `procs` host sleep loops in a freezer cgroup of our own
 * (/sys/fs/cgroup/freezer/warren-bench-<pid>), `cycles` FROZEN/THAWED round trips. The
 * loops also get a cpu cgroup capped at 1 CPU, as a default workspace is: uncapped, 100
 * loops thawed at once preempt the measuring process on both cores (a thaw then reads
 * 80–200 ms of scheduler delay instead of the kernel's cost).
 */
export async function hostFreezerCycles(procs: number, cycles: number): Promise<{ freeze: number[]; thaw: number[] }> {
  const cg = `/sys/fs/cgroup/freezer/warren-bench-${process.pid}`;
  const cpu = `/sys/fs/cgroup/cpu/warren-bench-${process.pid}`;
  const children: ChildProcess[] = [];
  try {
    mkdirSync(cg);
    mkdirSync(cpu);
    writeFileSync(join(cpu, 'cpu.cfs_period_us'), '100000');
    writeFileSync(join(cpu, 'cpu.cfs_quota_us'), '100000');
    for (let i = 0; i < procs; i++) {
      // Joins both groups before its first fork, so every `sleep` it starts is inside too.
      const join = `echo $$ > ${cg}/cgroup.procs && echo $$ > ${cpu}/cgroup.procs`;
      children.push(spawn('sh', ['-c', `${join} && ${LOOP}`], { detached: true, stdio: 'ignore' }));
    }
    await waitUntil(`${procs} loops in ${cg}`, () => {
      const inside = new Set(cgroupPids(cg));
      return children.every((c) => inside.has(c.pid!));
    }, 10_000, 10);
    const freeze: number[] = [];
    const thaw: number[] = [];
    for (let i = 0; i < cycles; i++) {
      freeze.push(setFreezer(cg, 'FROZEN'));
      thaw.push(setFreezer(cg, 'THAWED'));
    }
    if (children.some((c) => c.exitCode !== null || c.signalCode !== null)) throw new Error('a host loop died during the cycles');
    return { freeze, thaw };
  } finally {
    await removeFreezerGroup(cg, children);
    if (existsSync(cpu)) rmdirSync(cpu); // empty once the freezer group is: same processes
  }
}

async function removeFreezerGroup(cg: string, children: ChildProcess[]): Promise<void> {
  if (!existsSync(cg)) return;
  try {
    writeFileSync(join(cg, 'freezer.state'), 'THAWED'); // frozen tasks cannot die
  } catch {
    /* best effort: the kill loop below reports what survives */
  }
  for (const c of children) {
    try {
      process.kill(-c.pid!, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  const deadline = Date.now() + 10_000;
  for (let pids = cgroupPids(cg); pids.length > 0; pids = cgroupPids(cg)) {
    if (Date.now() > deadline) throw new Error(`host freezer group ${cg} keeps processes: ${pids.join(' ')}`);
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    await sleep(10);
  }
  rmdirSync(cg);
}

/**
 * Baseline of snapshot/restore: `tar -C <dir> -cf <file> .` of a host directory holding
 * `mib` MiB of random data (written and flushed first), in MiB/s, `runs` times.
 */
export function hostTarMiBs(mib: number, runs: number): number[] {
  const dir = mkdtempSync(join(tmpdir(), 'warren-bench-tar-'));
  try {
    const data = join(dir, 'data');
    mkdirSync(data);
    const made = spawnSync('sh', ['-c', `head -c ${mib}M /dev/urandom > "$0/blob" && sync`, data]);
    if (made.status !== 0) throw new Error(`host blob failed: ${made.stderr}`);
    const rates: number[] = [];
    for (let i = 0; i < runs; i++) {
      const out = join(dir, 'out.tar');
      const t0 = process.hrtime.bigint();
      const r = spawnSync('tar', ['-C', data, '-cf', out, '.']);
      const ms = msSince(t0);
      if (r.status !== 0) throw new Error(`host tar failed: ${r.stderr}`);
      rates.push(mib / (ms / 1000));
      rmSync(out);
    }
    return rates;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
