/**
 * The node relay (suite `relay`): what a replica pays to reach an agent through the
 * node's relay (src/node/relay-server.ts) instead of directly. The "agent" is a small
 * HTTP server in a network namespace of our own (test/support/relay-lab.ts); the relay
 * runs in the host namespace; both paths hit the same server in the same run,
 * interleaved so they see the same machine.
 *
 * - `relay_http_roundtrip`: `GET /health` over the tunnel `http.Agent` (keep-alive: the
 *   tunnel is opened once and reused), against the same request over a direct
 *   keep-alive `http.Agent`. `BENCH_RELAY_N` (2000) requests each.
 * - `relay_tunnel_open`: a new tunnel (token signed, CONNECT, relay checks, connect to
 *   the sandbox, 200) against a direct TCP connect to the same port. `BENCH_RELAY_OPENS` (300).
 */
import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import { generateNodeKey, NodeTokenSigner, NodeTokenVerifier, type NodePurpose } from '../src/node/node-tokens.js';
import { RelayServer } from '../src/node/relay-server.js';
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

export async function relayBenchmarks(): Promise<BenchResult[]> {
  const lab = new RelayLab();
  let relay: RelayServer | null = null;
  const direct = new Agent({ keepAlive: true, maxSockets: 1 });
  let tunneled: TunnelAgent | null = null;
  try {
    await lab.setup();
    const key = generateNodeKey('bench');
    const signer = new NodeTokenSigner(key, 'bench');
    relay = new RelayServer({
      nodeId: 'node-bench', verifier: new NodeTokenVerifier([key]), subnet: lab.subnet,
      isLiveSandbox: (ip) => ip === lab.sandboxIp,
    });
    const port = await relay.listen(0, lab.hostIp);
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
    await relay?.close().catch(() => undefined);
    await lab.cleanup();
  }
}
