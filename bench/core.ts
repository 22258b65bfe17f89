/**
 * Core benchmarks (issue: Warren core):
 * - create_to_first_exec: POST /workspace → enable → first `exec true` answered through the
 *   gateway, per workspace, over N workspaces; baseline: a bare bwrap sandbox of `true` on the
 *   same image, in the same run.
 * - idle_workspace_memory: memory charged to each idle workspace's memory cgroup (agent
 *   included) after they settle; baseline: RSS of a bare Node HTTP server on the host (what the
 *   agent costs before any sandboxing).
 * - idle_workspace_pss: the same workspaces measured by PSS of their processes, which counts
 *   a share of the Node binary's pages that the memcg charge leaves to whoever touched them first.
 * Targets (aimed at, not tested): p50 ≤ 50 ms; ≤ 30 MiB per idle workspace.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Runtime } from 'oblien';
import { api, startServer } from '../test/support/warren.js';
import { ensureTestImages, testImageStore } from '../test/support/images.js';
import { instanceIdFor } from '../src/config/load.js';
import { result, type BenchResult } from './stats.js';

const N = Number(process.env.BENCH_N ?? 50);

function bareSandboxMs(rootfs: string): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('bwrap', ['--unshare-all', '--ro-bind', rootfs, '/', '--proc', '/proc', '--dev', '/dev', '--cap-drop', 'ALL', 'true']);
  if (r.status !== 0) throw new Error(`bare bwrap failed: ${r.stderr}`);
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/** RSS of a bare Node HTTP server on the host, one second after it listens (MiB). */
export async function hostNodeServerRssMiB(): Promise<number> {
  const child = spawn(process.execPath, ['-e', "require('http').createServer((q,s)=>s.end('ok')).listen(0,'127.0.0.1',()=>console.log('up'))"], { stdio: ['ignore', 'pipe', 'ignore'] });
  await new Promise((r) => child.stdout!.once('data', r));
  await new Promise((r) => setTimeout(r, 1000));
  const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
  child.kill('SIGKILL');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

/**
 * Proportional set size of every process of a workspace: unlike the memcg charge it
 * includes a fair share of pages shared with other workspaces (the Node binary).
 */
function cgroupPssMiB(cgroupDir: string): number {
  let kb = 0;
  for (const pid of readFileSync(join(cgroupDir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
    try {
      kb += Number(/^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0);
    } catch {
      // the process exited between listing and reading
    }
  }
  return kb / 1024;
}

export async function coreBenchmarks(): Promise<BenchResult[]> {
  await ensureTestImages(['debian-12']);
  const server = await startServer();
  try {
    const times: number[] = [];
    const ids: string[] = [];
    for (let i = 0; i < N; i++) {
      const t0 = process.hrtime.bigint();
      const created = await api(server, 'POST', '/workspace', { image: 'debian-12', config: { memory_mb: 128, disk_size_mb: 64, network_config: { public_ingress: true } } });
      if (created.status !== 201) throw new Error(`create failed: ${created.text}`);
      const id = created.body.workspace.id;
      ids.push(id);
      const { body } = await api(server, 'POST', `/workspace/${id}/runtime-api-access/enable`);
      const res = await new Runtime({ token: body.token, baseUrl: server.url }).exec.run(['true']);
      if (res.exit_code !== 0) throw new Error('exec true failed');
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    const debian = testImageStore();
    const [rootfs] = debian.layerDirs(await debian.ensure('debian-12')); // debian-12 is one layer
    const baseline = Array.from({ length: N }, () => bareSandboxMs(rootfs!));

    await new Promise((r) => setTimeout(r, 5000));
    const inst = instanceIdFor(server.dataDir);
    const mem: number[] = [];
    const parent = `/sys/fs/cgroup/memory/warren-${inst}`;
    for (const dir of spawnSync('ls', [parent], { encoding: 'utf8' }).stdout.split('\n').filter((x) => /^[0-9a-f]{8}$/.test(x))) {
      mem.push(Number(readFileSync(join(parent, dir, 'memory.usage_in_bytes'), 'utf8')) / (1024 * 1024));
    }
    const pss: number[] = [];
    for (const dir of spawnSync('ls', [parent], { encoding: 'utf8' }).stdout.split('\n').filter((x) => /^[0-9a-f]{8}$/.test(x))) {
      pss.push(cgroupPssMiB(join(parent, dir)));
    }
    const nodeRss = await hostNodeServerRssMiB();
    for (const id of ids) await api(server, 'DELETE', `/workspace/${id}`);
    return [
      result('create_to_first_exec', 'ms', times, 'bare bwrap sandbox running true (same image)', baseline),
      result('idle_workspace_memory', 'MiB', mem, 'RSS of a bare Node HTTP server on the host', [nodeRss]),
      result('idle_workspace_pss', 'MiB', pss, 'RSS of a bare Node HTTP server on the host', [nodeRss]),
    ];
  } finally {
    await server.stop();
  }
}
