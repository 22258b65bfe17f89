/**
 * The node relay in a process of its own for bench/relay.ts (as on a node, the relay
 * does not share the caller's event loop). Reads `{ kid, key (hex), subnet, liveIp,
 * host }` as JSON from argv[2], prints the bound port, runs until killed.
 */
import { NodeTokenVerifier } from '../src/node/node-tokens.js';
import { RelayServer } from '../src/node/relay-server.js';

const o = JSON.parse(process.argv[2] ?? '{}') as { kid: string; key: string; subnet: string; liveIp: string; host: string };
const relay = new RelayServer({
  nodeId: 'node-bench', verifier: new NodeTokenVerifier([{ kid: o.kid, key: Buffer.from(o.key, 'hex') }]), subnet: o.subnet,
  isLiveSandbox: (ip) => ip === o.liveIp,
});
relay.listen(0, o.host).then((port) => console.log(`port ${port}`), (err: unknown) => {
  console.error(String(err));
  process.exit(1);
});
