import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { AppError } from '../contract/errors.js';
import { createEdge, edgeRoute, hostNameOf, type Edge, type EdgeTarget } from './edge.js';

describe('edgeRoute', () => {
  const r = (host: string | undefined, url: string) => edgeRoute({ headers: { host }, url }, 'localhost');
  test('Host <slug>.<domain>, any port, case-insensitive; full target kept', () => {
    assert.deepEqual(r('abc.localhost:8080', '/x?y=1'), { slug: 'abc', path: '/x?y=1' });
    assert.deepEqual(r('ABC.LocalHost', '/'), { slug: 'abc', path: '/' });
    assert.deepEqual(edgeRoute({ headers: { host: 'my-app.apps.example.com' }, url: '/a' }, 'apps.example.com'),
      { slug: 'my-app', path: '/a' });
  });
  test('path form strips /p/<slug> and keeps the query', () => {
    assert.deepEqual(r('127.0.0.1:9', '/p/abc/x/y?q=1'), { slug: 'abc', path: '/x/y?q=1' });
    assert.deepEqual(r('127.0.0.1:9', '/p/abc'), { slug: 'abc', path: '/' });
    assert.deepEqual(r('127.0.0.1:9', '/p/abc?q=1'), { slug: 'abc', path: '/?q=1' });
  });
  test('everything else is not edge traffic', () => {
    assert.equal(r('localhost:8080', '/workspace'), null);
    assert.equal(r('a.b.localhost', '/'), null);
    assert.equal(r('xlocalhost', '/'), null);
    assert.equal(r('127.0.0.1', '/p/'), null);
    assert.equal(r('127.0.0.1', '/px/abc'), null);
    assert.equal(r(undefined, '/files'), null);
    assert.equal(hostNameOf('[::1]:80'), null);
  });
});

/** An app listening on loopback: echoes requests, streams on /stream, WebSocket echo. */
let app: Server;
let appPort: number;
let wss: WebSocketServer;
let edgeServer: Server;
let edgePort: number;
let edge: Edge;
const routes = new Map<string, EdgeTarget | 'stopped'>();

before(async () => {
  app = createServer((req, res) => {
    if (req.url === '/stream') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first\n');
      return; // never ends: only a cut ends it
    }
    let n = 0;
    req.on('data', (c: Buffer) => (n += c.length));
    req.on('end', () => res.end(JSON.stringify({ url: req.url, method: req.method, n, headers: req.headers })));
  });
  wss = new WebSocketServer({ server: app });
  wss.on('connection', (ws, req) => ws.on('message', (m) => ws.send(`${req.url}:${String(m)}`)));
  await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
  appPort = (app.address() as AddressInfo).port;

  edge = createEdge({
    publicDomain: 'localhost',
    lookup: (slug) => {
      const t = routes.get(slug);
      if (t === 'stopped') throw new AppError('workspace_not_running', 'stopped', { workspace_id: 'ws_x' });
      return t ?? null;
    },
    connectTimeoutMs: 1000,
  });
  edgeServer = createServer((req, res) => {
    if (edge.matches(req)) edge.handleRequest(req, res);
    else res.end('control-plane');
  });
  edgeServer.on('upgrade', (req, socket, head) => {
    if (edge.matches(req)) edge.handleUpgrade(req, socket, head);
    else socket.destroy();
  });
  await new Promise<void>((r) => edgeServer.listen(0, '127.0.0.1', r));
  edgePort = (edgeServer.address() as AddressInfo).port;
  routes.set('good', { workspaceId: 'ws_a', ip: '127.0.0.1', port: appPort });
});

after(async () => {
  edge.close();
  edgeServer.closeAllConnections();
  app.closeAllConnections();
  for (const c of wss.clients) c.terminate();
  await new Promise((r) => edgeServer.close(r));
  await new Promise((r) => app.close(r));
});

function get(path: string, headers: Record<string, string> = {}, method = 'GET', body?: string) {
  return new Promise<{ status: number; headers: IncomingHttpHeaders; text: string }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: edgePort, path, method, headers, agent: false }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('createEdge', () => {
  test('proxies by Host with forwarded headers, end-to-end headers kept, hop-by-hop dropped', async () => {
    const res = await get('/x?y=1', {
      host: 'good.localhost:1234', authorization: 'Bearer app-own', 'x-forwarded-for': '10.9.9.9',
      connection: 'keep-alive, x-hop', 'x-hop': 'drop-me', 'keep-alive': 'timeout=5',
    }, 'POST', 'hello');
    assert.equal(res.status, 200);
    const body = JSON.parse(res.text);
    assert.equal(body.url, '/x?y=1');
    assert.equal(body.method, 'POST');
    assert.equal(body.n, 5);
    assert.equal(body.headers.authorization, 'Bearer app-own');
    assert.equal(body.headers['x-forwarded-for'], '10.9.9.9, 127.0.0.1');
    assert.equal(body.headers['x-forwarded-proto'], 'http');
    assert.equal(body.headers['x-forwarded-host'], 'good.localhost:1234');
    assert.equal(body.headers['x-hop'], undefined);
    assert.equal(body.headers['keep-alive'], undefined);
  });

  test('path form strips the prefix; other paths are not the edge\'s', async () => {
    const res = await get('/p/good/a/b?c=d');
    assert.equal(JSON.parse(res.text).url, '/a/b?c=d');
    assert.equal((await get('/workspace')).text, 'control-plane');
  });

  test('unknown slug 404, stopped workspace 409, closed port 502 upstream_unreachable', async () => {
    const missing = await get('/', { host: 'nope.localhost' });
    assert.equal(missing.status, 404);
    assert.equal(JSON.parse(missing.text).success, false);
    routes.set('stopped', 'stopped');
    assert.equal((await get('/p/stopped/')).status, 409);
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const closedPort = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));
    routes.set('dead', { workspaceId: 'ws_d', ip: '127.0.0.1', port: closedPort });
    const dead = await get('/p/dead/');
    assert.equal(dead.status, 502);
    assert.match(dead.text, /upstream_unreachable/);
  });

  test('WebSocket through the edge; revoke closes it and later requests 404', async () => {
    routes.set('wsapp', { workspaceId: 'ws_b', ip: '127.0.0.1', port: appPort });
    const ws = new WebSocket(`ws://127.0.0.1:${edgePort}/p/wsapp/chat`);
    await new Promise((r, j) => { ws.once('open', r); ws.once('error', j); });
    ws.send('hi');
    const [echo] = await new Promise<[Buffer]>((r) => ws.once('message', (...a) => r(a as unknown as [Buffer])));
    assert.equal(String(echo), '/chat:hi');

    const streaming = new Promise<string>((resolve) => {
      const req = request({ host: '127.0.0.1', port: edgePort, path: '/p/wsapp/stream', agent: false }, (res) => {
        res.once('data', () => {
          routes.delete('wsapp');
          assert.ok(edge.revoke('ws_b', appPort) >= 2);
        });
        res.on('error', () => resolve('cut'));
        res.on('close', () => resolve(res.complete ? 'complete' : 'cut'));
      });
      req.on('error', () => resolve('cut'));
      req.end();
    });
    assert.equal(await streaming, 'cut');
    await new Promise((r) => (ws.readyState === WebSocket.CLOSED ? r(null) : ws.once('close', r)));
    assert.equal((await get('/p/wsapp/')).status, 404);
  });

  test('disconnectWorkspace cuts every exposure of the workspace', async () => {
    routes.set('again', { workspaceId: 'ws_c', ip: '127.0.0.1', port: appPort });
    const ws = new WebSocket(`ws://127.0.0.1:${edgePort}/x`, { headers: { host: 'again.localhost' } });
    await new Promise((r, j) => { ws.once('open', r); ws.once('error', j); });
    assert.equal(edge.disconnectWorkspace('ws_c'), 1);
    await new Promise((r) => (ws.readyState === WebSocket.CLOSED ? r(null) : ws.once('close', r)));
  });
});
