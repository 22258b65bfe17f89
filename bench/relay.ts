/**
 * The node relay (suite `relay`): what a replica pays to reach an agent through the
 * node's relay (src/node/relay-server.ts) instead of directly. The "agent" is a small
 * HTTP server in a network namespace of our own (test/support/relay-lab.ts); the relay
 * runs in the host namespace in a process of its own (bench/relay-child.ts); both paths
 * hit the same server in the same run, interleaved so they see the same machine.
 *
 * - `relay_http_roundtrip`: `GET /health` over the tunnel `http.Agent` (keep-alive: the
 *   tunnel is opened once and reused), against the same request over a direct
 *   keep-alive `http.Agent`. `BENCH_RELAY_N` (2000) requests each.
 * - `relay_tunnel_open`: a new tunnel (token signed, CONNECT, relay checks, connect to
 *   the sandbox, 200) against a direct TCP connect to the same port. `BENCH_RELAY_OPENS` (300).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { generateNodeKey, NodeTokenSigner, type NodeKey, type NodePurpose } from '../src/node/node-tokens.js';
import { RelayClient, TunnelAgent } from '../src/gateway/relay-client.js';
import { RelayLab } from '../test/support/relay-lab.js';
import { result, type BenchResult } from './stats.js';

export const RELAY_BENCHMARKS = ['relay_http_roundtrip', 'relay_tunnel_open'];
const N = Number(process.env.BENCH_RELAY_N ?? 2000);
const OPENS = Number(process.env.BENCH_RELAY_OPENS ?? 300);

function get(host: string, agent: Agent): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = request({ host, port: 9990, path: '/health', agent }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve(performance.now() - t0) : reject(new Error(`status ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end();
  });
}

function directConnect(host: string, port: number): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const s = connect({ host, port });
    s.once('connect', () => {
      const ms = performance.now() - t0;
      s.destroy();
      resolve(ms);
    });
    s.once('error', reject);
  });
}

/** Starts bench/relay-child.ts; resolves with the process and its port. */
function startRelayProcess(lab: RelayLab, key: NodeKey): Promise<{ child: ChildProcess; port: number }> {
  const script = fileURLToPath(new URL('./relay-child.ts', import.meta.url));
  const args = JSON.stringify({ kid: key.kid, key: key.key.toString('hex'), subnet: lab.subnet, liveIp: lab.sandboxIp, host: lab.hostIp });
  const child = spawn(process.execPath, ['--import', 'tsx', script, args], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /port (\d+)/.exec(out);
      if (m) resolve({ child, port: Number(m[1]) });
    });
    child.once('exit', (code) => reject(new Error(`relay process exited ${code}`)));
  });
}

export async function relayBenchmarks(): Promise<BenchResult[]> {
  const lab = new RelayLab();
  let relay: ChildProcess | null = null;
  const direct = new Agent({ keepAlive: true, maxSockets: 1 });
  let tunneled: TunnelAgent | null = null;
  try {
    await lab.setup();
    const key = generateNodeKey('bench');
    const signer = new NodeTokenSigner(key, 'bench');
    const started = await startRelayProcess(lab, key);
    relay = started.child;
    const port = started.port;
    const client = new RelayClient({
      relayHost: lab.hostIp, relayPort: port, nodeId: 'node-bench',
      sign: (n: string, t: string, p: NodePurpose) => signer.sign(n, t, p),
    });
    tunneled = new TunnelAgent(client, 'agent', { maxSockets: 1 });
    for (let i = 0; i < 50; i++) { // warm-up: JIT, pools
      await get(lab.sandboxIp, direct);
      await get(lab.sandboxIp, tunneled);
    }
    const viaRelay: number[] = [];
    const straight: number[] = [];
    for (let i = 0; i < N; i++) {
      straight.push(await get(lab.sandboxIp, direct));
      viaRelay.push(await get(lab.sandboxIp, tunneled));
    }
    const opens: number[] = [];
    const connects: number[] = [];
    for (let i = 0; i < OPENS; i++) {
      connects.push(await directConnect(lab.sandboxIp, 9990));
      const t0 = performance.now();
      const s = await client.openTunnel(lab.sandboxIp, 9990, 'agent');
      opens.push(performance.now() - t0);
      s.destroy();
    }
    return [
      result('relay_http_roundtrip', 'ms', viaRelay, 'the same GET /health over a direct keep-alive connection', straight),
      result('relay_tunnel_open', 'ms', opens, 'a direct TCP connect to the same port', connects),
    ];
  } finally {
    direct.destroy();
    tunneled?.destroy();
    if (relay?.pid !== undefined && relay.exitCode === null) {
      const exited = new Promise((r) => relay!.once('exit', r));
      relay.kill('SIGTERM');
      await exited;
    }
    await lab.cleanup();
  }
}
