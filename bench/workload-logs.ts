/**
 * workload_log_throughput: MiB/s of a workload writing to stdout, as the official
 * client's `workloads.logsStream` sees it (agent pipe → log file → agent follower → SSE
 * → control plane relay → client), against the same generator writing to a file inside
 * the same workspace, measured in the same run. Target: ≥ 0.5× the file.
 */
import { startServer } from '../test/support/warren.js';
import { adminClient, openRuntime, waitForStatus } from '../test/support/workspaces.js';
import { result, type BenchResult } from './stats.js';

const MIB = 1024 * 1024;
const BYTES = 64 * MIB;
const RUNS = 3;
const LINE = '0123456789abcdef'.repeat(6);
const GENERATOR = `yes ${LINE} | head -c ${BYTES}`;

export const WORKLOAD_LOG_BENCHMARKS = ['workload_log_throughput'];

export async function workloadLogBenchmarks(): Promise<BenchResult[]> {
  const server = await startServer();
  const client = adminClient(server);
  const ws = await client.workspaces.create({ image: 'debian-12', cpus: 2, memory_mb: 1024, disk_size_mb: 2048 } as any);
  try {
    await waitForStatus(server, ws.id, 'running');
    const rt = await openRuntime(client, server, ws.id);
    const file: number[] = [];
    const stream: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const r = await rt.exec.run(['sh', '-c', `a=$(date +%s%N); ${GENERATOR} > /root/out; b=$(date +%s%N); echo $((b-a)); rm /root/out`],
        { timeoutSeconds: 300 } as any);
      file.push(BYTES / MIB / (Number(r.stdout.trim()) / 1e9));
      stream.push(await throughStream(client, ws.id, i));
    }
    return [result('workload_log_throughput', 'MiB/s', stream, 'the same generator writing to a file in the workspace', file)];
  } finally {
    await client.workspaces.delete(ws.id).catch(() => undefined);
    await server.stop();
  }
}

async function throughStream(client: ReturnType<typeof adminClient>, id: string, run: number): Promise<number> {
  const marker = `DONE-${run}-${Date.now()}`;
  const wl: any = await client.workspaces.workloads.create(id, {
    name: `gen-${run}`, cmd: ['sh', '-c', `sleep 1; ${GENERATOR}; echo; echo ${marker}; sleep 600`],
    restart_policy: 'never', max_log_size_mb: 256,
  });
  let bytes = 0;
  let first = 0;
  for await (const e of client.workspaces.workloads.logsStream(id, wl.id) as AsyncIterable<any>) {
    const data = typeof e.data === 'string' ? e.data : '';
    if (!first && data.length) first = performance.now();
    bytes += data.length;
    if (data.includes(marker)) break;
  }
  const seconds = (performance.now() - first) / 1000;
  await client.workspaces.workloads.delete(id, wl.id);
  if (bytes < BYTES) throw new Error(`the stream delivered ${bytes} of ${BYTES} bytes`);
  return BYTES / MIB / seconds;
}
