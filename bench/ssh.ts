/**
 * SSH benchmark (issue 11):
 * - ssh_command   wall time of `ssh -J root@<bastion> root@<ssh_id> true` run by the real OpenSSH
 *                 client, key auth, a fresh connection each time (two ssh processes, the jump host's
 *                 handshake, the workspace sshd's handshake and login, one exec), against
 *                 `rt.exec.run(['true'])` through the gateway with the official Runtime, in the same run.
 * p50/p95 over BENCH_SSH_RUNS (default 30) runs each, after a warm-up.
 * `npm run bench -- ssh_command` runs only this one.
 */
import { startServer } from '../test/support/warren.js';
import { ensureTestImages } from '../test/support/images.js';
import { adminClient, openRuntime, waitForStatus } from '../test/support/workspaces.js';
import { freePort, run, sshFiles } from '../test/support/ssh.js';
import { result, type BenchResult } from './stats.js';

const RUNS = Math.max(20, Number(process.env.BENCH_SSH_RUNS ?? 30));

export const SSH_BENCHMARKS = ['ssh_command'] as const;

async function timed(n: number, call: () => Promise<void>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    await call();
    out.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return out;
}

export async function sshBenchmarks(): Promise<BenchResult[]> {
  await ensureTestImages(['debian-12']);
  const port = await freePort();
  const server = await startServer({ env: { WARREN_SSH_PORT: String(port) } });
  const files = sshFiles();
  try {
    const client = adminClient(server);
    const ws = await client.workspaces.create({ image: 'debian-12', memory_mb: 256 } as never);
    await waitForStatus(server, ws.id, 'running');
    await client.workspaces.ssh.enable(ws.id);
    await client.workspaces.ssh.setKey(ws.id, { public_key: files.publicKey });
    const st = await client.workspaces.ssh.status(ws.id) as { ssh_id: string; connection: { bastion: string } };
    const args = ['-F', files.config, '-J', `root@${st.connection.bastion}`, `root@${st.ssh_id}`, 'true'];
    const sshTrue = async () => {
      const r = await run('ssh', args, { timeoutMs: 30_000 });
      if (r.code !== 0) throw new Error(`ssh failed (${r.code}): ${r.stderr.slice(0, 500)}`);
    };
    const rt = await openRuntime(client, server, ws.id);
    const execTrue = async () => {
      const r = await rt.exec.run(['true']);
      if (r.exit_code !== 0) throw new Error('exec true failed');
    };
    await timed(3, sshTrue);
    await timed(20, execTrue);
    const ssh = await timed(RUNS, sshTrue);
    const exec = await timed(RUNS, execTrue);
    await client.workspaces.delete(ws.id).catch(() => undefined);
    return [result('ssh_command', 'ms', ssh, "rt.exec.run(['true']) through the gateway", exec)];
  } finally {
    await server.stop();
    files.cleanup();
  }
}
