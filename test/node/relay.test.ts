/**
 * The node relay over real sockets: a namespace of our own stands for a sandbox on
 * this node (test/support/relay-lab.ts); the relay runs in the host namespace on the
 * veth's host address and the replica's client reaches the sandbox only through it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { request, type IncomingMessage } from 'node:http';
import { once } from 'node:events';
import WebSocket from 'ws';
import { generateNodeKey, NodeTokenSigner, NodeTokenVerifier, type NodePurpose } from '../../src/node/node-tokens.js';
import { RelayServer, type RelayServerOptions } from '../../src/node/relay-server.js';
import { RelayClient, TunnelAgent } from '../../src/gateway/relay-client.js';
import { RelayLab } from '../support/relay-lab.js';

const lab = new RelayLab();
const key = generateNodeKey('k1');
const signer = new NodeTokenSigner(key, 'replica-1');
const sign = (n: string, t: string, p: NodePurpose) => signer.sign(n, t, p);
const servers: RelayServer[] = [];
let relayPort = 0;
let relay: RelayServer;

async function startRelay(extra: Partial<RelayServerOptions> = {}): Promise<{ server: RelayServer; port: number }> {
  const server = new RelayServer({
    nodeId: 'node-a', verifier: new NodeTokenVerifier([key]), subnet: lab.subnet,
    isLiveSandbox: async (ip) => ip === lab.sandboxIp, connectTimeoutMs: 2000, ...extra,
  });
  servers.push(server);
  return { server, port: await server.listen(0, lab.hostIp) };
}

function client(port = relayPort, signFn = sign, nodeId = 'node-a'): RelayClient {
  return new RelayClient({ relayHost: lab.hostIp, relayPort: port, nodeId, sign: signFn });
}

/** Sends raw bytes to the relay and returns the status code of its answer and the body. */
async function raw(text: string, port = relayPort): Promise<{ status: number; body: string }> {
  const s = connect({ host: lab.hostIp, port });
  s.write(text);
  let data = '';
  s.setEncoding('utf8');
  s.on('data', (c: string) => { data += c; });
  await Promise.race([once(s, 'close'), new Promise((r) => setTimeout(r, 3000))]);
  s.destroy();
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0);
  return { status, body: data.slice(data.indexOf('\r\n\r\n') + 4) };
}

const connectLine = (target: string, token?: string) =>
  `CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n${token ? `Proxy-Authorization: Warren-Node ${token}\r\n` : ''}\r\n`;

function getJson(agent: TunnelAgent | false, path: string, host = lab.sandboxIp): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port: 9990, path, agent, headers: { authorization: 'Bearer agent' } }, (res: IncomingMessage) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => resolve(JSON.parse(body) as Record<string, unknown>));
    });
    req.on('error', reject);
    req.end();
  });
}

before(async () => {
  await lab.setup();
  ({ server: relay, port: relayPort } = await startRelay());
});

after(async () => {
  for (const s of servers) await s.close().catch(() => undefined);
  await lab.cleanup();
});

test('an HTTP request reaches the sandbox through openTunnel', async () => {
  const tunnel = await client().openTunnel(lab.sandboxIp, 9990, 'agent');
  tunnel.write(`GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
  let data = '';
  tunnel.setEncoding('utf8');
  tunnel.on('data', (c: string) => { data += c; });
  await once(tunnel, 'close');
  assert.match(data, /^HTTP\/1\.1 200/);
  assert.match(data, /"status":"ok"/);
});

test('the tunnel http.Agent carries requests with keep-alive reuse', async () => {
  const agent = new TunnelAgent(client(), 'agent');
  try {
    const a = await getJson(agent, '/one');
    const b = await getJson(agent, '/two');
    assert.equal(a.url, '/one');
    assert.equal(b.url, '/two');
    assert.equal(a.peerPort, b.peerPort, 'the second request reused the tunnel');
    assert.equal(relay.openTunnels, 1);
  } finally {
    agent.destroy();
  }
  await waitFor(() => relay.openTunnels === 0);
});

test('a WebSocket upgrade works through the tunnel agent and through openTunnel', async () => {
  const agent = new TunnelAgent(client(), 'agent');
  const ws = new WebSocket(`ws://${lab.sandboxIp}:9990/ws`, { agent });
  await once(ws, 'open');
  ws.send('hi');
  const [msg] = (await once(ws, 'message')) as [Buffer];
  assert.equal(msg.toString(), 'echo:hi');
  ws.close();
  await once(ws, 'close');
  agent.destroy();

  const tunnel = await client().openTunnel(lab.sandboxIp, 9990, 'agent');
  tunnel.write('GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
    + 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
  const [head] = (await once(tunnel, 'data')) as [Buffer];
  assert.match(head.toString(), /^HTTP\/1\.1 101/);
  assert.match(head.toString(), /s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=/i);
  tunnel.destroy();
});

test('an SSH-like raw TCP stream: the banner sent first arrives, then echo', async () => {
  const tunnel = await client().openTunnel(lab.sandboxIp, 22, 'ssh');
  const got = await readUntil(tunnel, '\r\n');
  assert.equal(got, 'SSH-2.0-WarrenTest\r\n');
  tunnel.write('ping-123');
  assert.equal(await readUntil(tunnel, '123'), 'ping-123');
  tunnel.destroy();
});

test('an edge token opens the port it names', async () => {
  const tunnel = await client().openTunnel(lab.sandboxIp, 3000, 'edge');
  tunnel.end('GET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  assert.match(await readUntil(tunnel, 'app:/x'), /app:\/x$/);
});

test('refusals: no token 407, bad tokens 403, non-CONNECT 405, all without detail', async () => {
  const target = `${lab.sandboxIp}:9990`;
  const noToken = await raw(connectLine(target));
  assert.equal(noToken.status, 407, 'a caller on the relay host itself, without a token');
  assert.equal(noToken.body, 'proxy authentication required\n');
  assert.equal((await raw(connectLine(target).replace('\r\n\r\n', '\r\nProxy-Authorization: Bearer x\r\n\r\n'))).status, 407);

  const forged = new NodeTokenSigner(generateNodeKey('k1'), 'r').sign('node-a', target, 'agent');
  const expired = new NodeTokenSigner(key, 'r', 60_000, () => Date.now() - 61_000).sign('node-a', target, 'agent');
  const cases: Array<[string, string, string]> = [
    ['bad signature', target, forged],
    ['expired', target, expired],
    ['other node', target, sign('node-b', target, 'agent')],
    ['other target', target, sign('node-a', `${lab.sandboxIp}:22`, 'ssh')],
    ['target not live', `${lab.vacantIp}:9990`, sign('node-a', `${lab.vacantIp}:9990`, 'agent')],
    ['outside the subnet', '10.0.0.9:9990', sign('node-a', '10.0.0.9:9990', 'agent')],
    ['port not allowed for agent', `${lab.sandboxIp}:3000`, sign('node-a', `${lab.sandboxIp}:3000`, 'agent')],
    ['port not allowed for ssh', `${lab.sandboxIp}:9990`, sign('node-a', `${lab.sandboxIp}:9990`, 'ssh')],
    ['api tokens open no tunnel', target, sign('node-a', target, 'api')],
  ];
  for (const [name, t, token] of cases) {
    const r = await raw(connectLine(t, token));
    assert.equal(r.status, 403, name);
    assert.equal(r.body, 'forbidden\n', name);
  }
  const replayed = sign('node-a', target, 'agent');
  const first = connect({ host: lab.hostIp, port: relayPort });
  first.write(connectLine(target, replayed));
  await readUntil(first, '\r\n\r\n');
  assert.equal((await raw(connectLine(target, replayed))).status, 403, 'a token opens one tunnel only');
  first.destroy();

  assert.equal((await raw('GET / HTTP/1.1\r\nHost: x\r\n\r\n')).status, 405);
  assert.equal((await raw(`POST http://${target}/exec HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n`)).status, 405);
  assert.equal((await raw('GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n')).status, 405);
});

test('the client maps refusals to unreachable codes; a closed port answers 502 without errno', async () => {
  await assert.rejects(client(relayPort, sign, 'node-b').openTunnel(lab.sandboxIp, 9990, 'agent'), { code: 'ERELAY_REFUSED' });
  await assert.rejects(client().openTunnel(lab.sandboxIp, 3999, 'edge'), { code: 'ECONNREFUSED' });
  const r = await raw(connectLine(`${lab.sandboxIp}:3999`, sign('node-a', `${lab.sandboxIp}:3999`, 'edge')));
  assert.equal(r.status, 502);
  assert.equal(r.body, 'bad gateway\n');
  // Nothing listens on the relay's port: the node itself is down (callers answer node_lost).
  await assert.rejects(client(1).openTunnel(lab.sandboxIp, 9990, 'agent'), { code: 'ENODE_DOWN' });
});

test('tunnel caps: per caller 429, in all 503; slots come back when tunnels close', async () => {
  const { server, port } = await startRelay({ maxTunnelsPerCaller: 2, maxTunnels: 3 });
  const other = new NodeTokenSigner(key, 'replica-2');
  const signOther = (n: string, t: string, p: NodePurpose) => other.sign(n, t, p);
  const open: Socket[] = [];
  open.push(await client(port).openTunnel(lab.sandboxIp, 22, 'ssh'));
  open.push(await client(port).openTunnel(lab.sandboxIp, 22, 'ssh'));
  await assert.rejects(client(port).openTunnel(lab.sandboxIp, 22, 'ssh'), { code: 'ERELAY_BUSY' });
  assert.equal((await raw(connectLine(`${lab.sandboxIp}:22`, sign('node-a', `${lab.sandboxIp}:22`, 'ssh')), port)).status, 429);
  open.push(await client(port, signOther).openTunnel(lab.sandboxIp, 22, 'ssh'));
  assert.equal(server.openTunnels, 3);
  assert.equal((await raw(connectLine(`${lab.sandboxIp}:22`, signOther('node-a', `${lab.sandboxIp}:22`, 'ssh')), port)).status, 503);
  for (const s of open) s.destroy();
  await waitFor(() => server.openTunnels === 0);
  (await client(port).openTunnel(lab.sandboxIp, 22, 'ssh')).destroy();
});

test('a caller that leaves while the relay checks and dials frees its slot', async () => {
  const { server, port } = await startRelay({
    maxTunnels: 1,
    isLiveSandbox: async (ip) => {
      await new Promise((r) => setTimeout(r, 200));
      return ip === lab.sandboxIp;
    },
  });
  const s = connect({ host: lab.hostIp, port });
  s.write(connectLine(`${lab.sandboxIp}:22`, sign('node-a', `${lab.sandboxIp}:22`, 'ssh')));
  await new Promise((r) => setTimeout(r, 50));
  s.destroy();
  await new Promise((r) => setTimeout(r, 400));
  assert.equal(server.openTunnels, 0);
  (await client(port).openTunnel(lab.sandboxIp, 22, 'ssh')).destroy(); // the one slot is free again
});

test('an idle tunnel is closed', async () => {
  const { server, port } = await startRelay({ idleTimeoutMs: 300 });
  const tunnel = await client(port).openTunnel(lab.sandboxIp, 9990, 'agent');
  assert.equal(server.openTunnels, 1);
  await once(tunnel, 'close');
  assert.equal(server.openTunnels, 0);
});

async function readUntil(s: Socket, marker: string): Promise<string> {
  let data = '';
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "${marker}" in ${JSON.stringify(data)}`)), 5000);
    const onData = (c: Buffer) => {
      data += c.toString();
      if (data.includes(marker)) {
        clearTimeout(timer);
        s.off('data', onData);
        resolve(data);
      }
    };
    s.on('data', onData);
  });
}

async function waitFor(cond: () => boolean, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
