/**
 * The agent's reverse proxy (runtime.md §11) with the real agent on the host and real
 * loopback services: target selection (header, query, path form, target prefix),
 * credentials and reserved parameters never reaching the service, verbatim statuses
 * and headers, streaming both ways (SSE unbuffered, large bodies), error envelopes,
 * and WebSocket upgrades — also through the official SDK's `rt.proxy()`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { Runtime } from 'oblien';
import { startAgent, type AgentHandle } from './harness.js';

let agent: AgentHandle;
let echo: Server;
let echoPort: number;
let wss: WebSocketServer;
let wsPort: number;
let wsHttp: Server;
const TOKEN = 'p'.repeat(64);
let releaseSse: () => void = () => {};

/** Echoes what it received as JSON; a few paths have special behaviour. */
function echoHandler(req: IncomingMessage, res: import('node:http').ServerResponse): void {
  if (req.url === '/teapot') {
    res.writeHead(418, { 'x-custom': 'yes', 'set-cookie': ['a=1', 'b=2'] });
    res.end('short and stout');
    return;
  }
  if (req.url === '/sse') {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write('data: first\n\n');
    releaseSse = () => res.end('data: last\n\n');
    return;
  }
  let size = 0;
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => {
    size += c.length;
    if (size <= 1024) chunks.push(c);
  });
  req.on('end', () => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, size, body: Buffer.concat(chunks).toString() }));
  });
}

function listen(server: Server | import('node:net').Server): Promise<number> {
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r((server.address() as AddressInfo).port)));
}

async function freePort(): Promise<number> {
  const s = createNetServer();
  const port = await listen(s);
  await new Promise((r) => s.close(r));
  return port;
}

before(async () => {
  agent = await startAgent({ token: TOKEN });
  echo = createServer(echoHandler);
  echoPort = await listen(echo);
  wsHttp = createServer();
  wss = new WebSocketServer({ server: wsHttp, handleProtocols: (protocols) => [...protocols][0] ?? false });
  wss.on('connection', (sock, req) => {
    sock.send(JSON.stringify({ url: req.url, auth: req.headers.authorization ?? null, protocol: sock.protocol }));
    sock.on('message', (data, isBinary) => sock.send(data, { binary: isBinary }));
  });
  wsPort = await listen(wsHttp);
});

after(async () => {
  releaseSse();
  for (const client of wss?.clients ?? []) client.terminate();
  wss?.close();
  wsHttp?.closeAllConnections();
  wsHttp?.close();
  echo?.closeAllConnections();
  echo?.close();
  await agent?.stop();
});

describe('HTTP proxy', () => {
  test('header target: path and query kept, token/target/authorization stripped', async () => {
    const res = await agent.call(`/proxy/api/x?y=1&token=${TOKEN}&z=a%20b`, {
      headers: { 'x-oblien-proxy-target': String(echoPort), 'x-app': 'kept', cookie: 'c=1' },
    });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.url, '/api/x?y=1&z=a%20b');
    assert.equal(res.body.headers.authorization, undefined);
    assert.equal(res.body.headers['x-oblien-proxy-target'], undefined);
    assert.equal(res.body.headers['x-app'], 'kept');
    assert.equal(res.body.headers.cookie, 'c=1');
    assert.equal(res.body.headers.host, `127.0.0.1:${echoPort}`);
    assert.ok(!res.text.includes(TOKEN), 'the runtime token never reaches the service');
  });

  test('query target, host:port forms, path form and the /runtimes/default prefix', async () => {
    const viaQuery = await agent.call(`/proxy/q?x_oblien_target=localhost:${echoPort}&a=1`);
    assert.equal(viaQuery.body.url, '/q?a=1');
    const viaPath = await agent.call(`/proxy/${echoPort}/deep/er/path/?k=v`);
    assert.equal(viaPath.body.url, '/deep/er/path/?k=v');
    const bare = await agent.call(`/proxy/${echoPort}`);
    assert.equal(bare.body.url, '/');
    const prefixed = await agent.call('/runtimes/default/proxy/p', { headers: { 'x-oblien-proxy-target': `127.0.0.1:${echoPort}` } });
    assert.equal(prefixed.body.url, '/p');
    const root = await agent.call('/proxy', { headers: { 'x-oblien-proxy-target': String(echoPort) } });
    assert.equal(root.body.url, '/');
  });

  test('methods and bodies stream through; 2 MiB upload arrives whole', async () => {
    const big = Buffer.alloc(2 * 1024 * 1024, 7);
    const res = await agent.call('/proxy/upload', { method: 'PUT', body: big, headers: { 'x-oblien-proxy-target': String(echoPort), 'content-type': 'application/octet-stream' } });
    assert.equal(res.body.method, 'PUT');
    assert.equal(res.body.size, big.length);
    const del = await agent.call('/proxy/thing', { method: 'DELETE', headers: { 'x-oblien-proxy-target': String(echoPort) } });
    assert.equal(del.body.method, 'DELETE');
  });

  test('upstream status, headers and body are verbatim', async () => {
    const res = await fetch(`${agent.url}/proxy/teapot`, { headers: { authorization: `Bearer ${TOKEN}`, 'x-oblien-proxy-target': String(echoPort) } });
    assert.equal(res.status, 418);
    assert.equal(res.headers.get('x-custom'), 'yes');
    assert.deepEqual(res.headers.getSetCookie(), ['a=1', 'b=2']);
    assert.equal(await res.text(), 'short and stout');
  });

  test('SSE is not buffered: the first event arrives before the stream ends', async () => {
    const res = await fetch(`${agent.url}/proxy/sse`, { headers: { authorization: `Bearer ${TOKEN}`, 'x-oblien-proxy-target': String(echoPort) } });
    assert.equal(res.headers.get('content-type'), 'text/event-stream');
    const reader = res.body!.getReader();
    const first = await reader.read();
    assert.match(Buffer.from(first.value!).toString(), /data: first/);
    releaseSse();
    let rest = '';
    for (let r = await reader.read(); !r.done; r = await reader.read()) rest += Buffer.from(r.value).toString();
    assert.match(rest, /data: last/);
  });

  test('errors are success:false envelopes: 502, 403, 400, 401', async () => {
    const dead = await agent.call('/proxy/x', { headers: { 'x-oblien-proxy-target': String(await freePort()) } });
    assert.equal(dead.status, 502);
    assert.equal(dead.body.success, false);
    assert.equal(dead.body.code, 'upstream_unreachable');
    const remote = await agent.call('/proxy/x', { headers: { 'x-oblien-proxy-target': `10.0.0.1:${echoPort}` } });
    assert.equal(remote.status, 403);
    assert.equal(remote.body.success, false);
    for (const bad of ['0', '65536', 'abc', '']) {
      const r = await agent.call(`/proxy/${bad}`);
      assert.equal(r.status, 400, `${bad}: ${r.text}`);
      assert.equal(r.body.success, false);
    }
    const anon = await agent.call(`/proxy/${echoPort}/`, { token: null });
    assert.equal(anon.status, 401);
    assert.equal(anon.body.success, false);
    const unknownTarget = await agent.call(`/runtimes/macos/proxy/${echoPort}/`);
    assert.equal(unknownTarget.status, 404);
  });

  test('the official SDK: rt.proxy(port).fetch and rt.proxy(port, host)', async () => {
    const rt = new Runtime({ token: TOKEN, baseUrl: agent.url });
    const res = await rt.proxy(echoPort).fetch('api/users?limit=10', { method: 'POST', body: 'hello', headers: { authorization: 'Bearer caller' } });
    const body = (await res.json()) as any;
    assert.equal(body.url, '/api/users?limit=10');
    assert.equal(body.body, 'hello');
    assert.equal(body.headers.authorization, undefined);
    const viaHost = await rt.proxy(echoPort, 'localhost').fetch('/h');
    assert.equal(((await viaHost.json()) as any).url, '/h');
    const remote = await rt.proxy(echoPort, 'example.com').fetch('/');
    assert.equal(remote.status, 403);
  });
});

function openWs(url: string, protocols: string[] = [], headers: Record<string, string> = {}): Promise<{ ws: WebSocket; hello: any }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, { headers });
    ws.once('message', (d) => resolve({ ws, hello: JSON.parse(String(d)) }));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

describe('WebSocket proxy', () => {
  test('query target + token: frames both ways, subprotocol kept, token stripped', async () => {
    const wsBase = agent.url.replace(/^http/, 'ws');
    const { ws, hello } = await openWs(`${wsBase}/proxy/socket?a=1&token=${TOKEN}&x_oblien_target=${wsPort}`, ['chat.v1']);
    try {
      assert.equal(hello.url, '/socket?a=1');
      assert.equal(hello.auth, null);
      assert.equal(hello.protocol, 'chat.v1');
      const echoed = new Promise<Buffer>((r) => ws.once('message', (d) => r(d as Buffer)));
      ws.send(Buffer.from([1, 2, 3]));
      assert.deepEqual([...(await echoed)], [1, 2, 3]);
    } finally {
      ws.close();
    }
  });

  test('path form under the target prefix, header auth', async () => {
    const wsBase = agent.url.replace(/^http/, 'ws');
    const { ws, hello } = await openWs(`${wsBase}/runtimes/default/proxy/${wsPort}/live`, [], { authorization: `Bearer ${TOKEN}` });
    ws.close();
    assert.equal(hello.url, '/live');
    assert.equal(hello.auth, null);
  });

  test('refusals: 401 without token, 502 when nothing listens', async () => {
    const wsBase = agent.url.replace(/^http/, 'ws');
    await assert.rejects(openWs(`${wsBase}/proxy/${wsPort}/`), /HTTP 401/);
    await assert.rejects(openWs(`${wsBase}/proxy/${await freePort()}/?token=${TOKEN}`), /HTTP 502/);
    await assert.rejects(openWs(`${wsBase}/elsewhere?token=${TOKEN}`), /HTTP 404/);
  });
});
