/**
 * The wiring point of the node relay: a route (gateway), an exposure (edge) and an SSH
 * target (jump host) with `via` reach the sandbox through the node's relay, not
 * directly; without relays configured such a route answers 502, never a direct hop.
 * The sandbox is a namespace of our own (test/support/relay-lab.ts).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import WebSocket from 'ws';
import ssh2 from 'ssh2';
import { generateNodeKey, NodeTokenSigner, NodeTokenVerifier, type NodePurpose } from '../../src/node/node-tokens.js';
import { RelayServer } from '../../src/node/relay-server.js';
import { Relays, type RelayVia } from '../../src/gateway/relay-client.js';
import { createGateway } from '../../src/gateway/gateway.js';
import { createEdge } from '../../src/gateway/edge.js';
import { JumpHost } from '../../src/ssh/jump-host.js';
import { generateHostKey } from '../../src/ssh/host-key.js';
import { fakeResolver } from '../gateway/harness.js';
import { findLeaks } from '../support/leaks.js';
import { RelayLab } from '../support/relay-lab.js';

const lab = new RelayLab();
const key = generateNodeKey('k1');
const signer = new NodeTokenSigner(key, 'replica-1');
const relays = new Relays((n: string, t: string, p: NodePurpose) => signer.sign(n, t, p), 2000);
const closers: Array<() => Promise<void> | void> = [];
let relay: RelayServer;
let via: RelayVia;

async function serve(server: Server): Promise<string> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  closers.push(() => {
    server.closeAllConnections();
    return new Promise<void>((r) => server.close(() => r()));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A gateway mounted as the server mounts it, with its route table. */
async function gatewayUrl(withRelays: boolean, routeVia: RelayVia): Promise<string> {
  const gateway = createGateway({
    resolve: fakeResolver({ 'caller-token': { workspaceId: 'ws_1', host: lab.sandboxIp, port: 9990, agentToken: 'agent-token', via: routeVia } }),
    connectTimeoutMs: 2000,
    relays: withRelays ? relays : undefined,
  });
  closers.push(() => gateway.close());
  const server = createServer((req, res) => gateway.handleRequest(req, res));
  server.on('upgrade', (req, socket, head) => gateway.handleUpgrade(req, socket, head));
  return serve(server);
}

function post(url: string, path: string, body: string): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, {
      method: 'POST', headers: { authorization: 'Bearer caller-token', 'content-type': 'application/json' },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { text += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) as Record<string, unknown> }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

before(async () => {
  await lab.setup();
  relay = new RelayServer({
    nodeId: 'node-a', verifier: new NodeTokenVerifier([key]), subnet: lab.subnet,
    isLiveSandbox: (ip) => ip === lab.sandboxIp,
  });
  via = { relayHost: lab.hostIp, relayPort: await relay.listen(0, lab.hostIp), nodeId: 'node-a' };
});

after(async () => {
  for (const close of closers.reverse()) await Promise.resolve(close()).catch(() => undefined);
  await relay?.close().catch(() => undefined);
  await lab.cleanup();
});

test('the gateway forwards an exec-like request through the relay, with the agent token', async () => {
  const url = await gatewayUrl(true, via);
  const r = await post(url, '/exec', '{"cmd":["true"]}');
  assert.equal(r.status, 200);
  assert.equal(r.json.url, '/exec');
  assert.equal(r.json.body, '{"cmd":["true"]}');
  assert.equal(r.json.authorization, 'Bearer agent-token');
  const again = await post(url, '/exec', '{}');
  assert.equal(again.json.peerPort, r.json.peerPort, 'the pooled tunnel was reused');
  assert.equal(relay.openTunnels, 1);
});

test('the gateway relays a WebSocket upgrade through the relay', async () => {
  const url = await gatewayUrl(true, via);
  const before = relay.openTunnels;
  const ws = new WebSocket(`${url.replace('http', 'ws')}/ws`, { headers: { authorization: 'Bearer caller-token' } });
  await once(ws, 'open');
  ws.send('x');
  const [msg] = (await once(ws, 'message')) as [Buffer];
  assert.equal(msg.toString(), 'echo:x');
  assert.equal(relay.openTunnels, before + 1, 'the upgrade went through the relay');
  ws.close();
});

test('a route with via answers agent_unreachable when the relay refuses or none is configured', async () => {
  const wrongNode = await gatewayUrl(true, { ...via, nodeId: 'node-b' });
  const refused = await post(wrongNode, '/exec', '{}');
  assert.equal(refused.status, 502);
  assert.equal(refused.json.code, 'agent_unreachable');
  assert.deepEqual(findLeaks(refused.json), [], 'no relay or sandbox address, no errno text');
  const none = await post(await gatewayUrl(false, via), '/exec', '{}');
  assert.equal(none.status, 502);
  assert.equal(none.json.code, 'agent_unreachable');
  assert.deepEqual(findLeaks(none.json), []);
});

test('a route whose node relay cannot be reached answers 503 node_lost, not an unreachable agent', async () => {
  const down = await gatewayUrl(true, { ...via, relayPort: 1 }); // nothing listens: the node daemon is down
  const r = await post(down, '/exec', '{}');
  assert.equal(r.status, 503);
  assert.equal(r.json.code, 'node_lost');
  const details = r.json.details as Record<string, unknown>;
  assert.equal(details.node_id, 'node-a');
  assert.equal(details.reason, 'unreachable');
  assert.deepEqual(findLeaks(r.json), [], 'no relay address, no errno text');
});

test('the edge forwards to an exposed port through the relay', async () => {
  const edge = createEdge({
    publicDomain: 'apps.test', relays,
    lookup: (slug) => (slug === 'app' ? { workspaceId: 'ws_1', ip: lab.sandboxIp, port: 3000, via } : null),
  });
  closers.push(() => edge.close());
  const url = await serve(createServer((req, res) => edge.handleRequest(req, res)));
  const before = relay.openTunnels;
  const text = await new Promise<string>((resolve, reject) => {
    request(`${url}/p/app/hello`, (res) => {
      let t = '';
      res.on('data', (c: Buffer) => { t += c.toString(); });
      res.on('end', () => resolve(t));
    }).on('error', reject).end();
  });
  assert.equal(text, 'app:/hello');
  assert.equal(relay.openTunnels, before + 1, 'the pooled connection is a relay tunnel');
});

test('the jump host opens an SSH channel through the relay', async () => {
  const jump = new JumpHost({
    hostKey: generateHostKey().private, relays, log: () => undefined,
    resolve: async (sshId) => (sshId === 'aaaaaaaaaaaaaaaa' ? { workspaceId: 'ws_1', ip: lab.sandboxIp, via } : null),
  });
  const port = await jump.listen(0, '127.0.0.1');
  closers.push(() => jump.close());
  const c = new ssh2.Client();
  await new Promise<void>((resolve, reject) => {
    c.once('ready', () => resolve()).once('error', reject);
    c.connect({ host: '127.0.0.1', port, username: 'root', readyTimeout: 10_000, hostVerifier: () => true });
  });
  const base = relay.openTunnels;
  try {
    const stream = await new Promise<ssh2.ClientChannel>((resolve, reject) =>
      c.forwardOut('127.0.0.1', 0, 'aaaaaaaaaaaaaaaa', 22, (err, s) => (err ? reject(err) : resolve(s))));
    const [banner] = (await once(stream, 'data')) as [Buffer];
    assert.equal(relay.openTunnels, base + 1, 'the channel is a relay tunnel');
    assert.equal(banner.toString(), 'SSH-2.0-WarrenTest\r\n');
    stream.destroy();
  } finally {
    c.end();
  }
});
