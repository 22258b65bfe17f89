/**
 * Public access end to end (control-plane.md §8): a real Warren, a real node-20
 * workspace running a tiny HTTP + WebSocket app on a port, exposed with the
 * official client and reached through Warren's edge by Host header and by the
 * `/p/<slug>/` path form; slug change and revocation take effect at once; the
 * official CLI lists the exposure.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import Oblien, { Runtime } from 'oblien';
import { WebSocket } from 'ws';
import { ADMIN, ROOT, api, startServer, type TestServer } from '../support/warren.js';
import { ensureTestImages } from '../support/images.js';

const run = promisify(execFile);
let server: TestServer;
let client: InstanceType<typeof Oblien>;
let home: string;
let wsId: string;
const APP_PORT = 18000 + Math.floor(Math.random() * 1000);

/** The app inside the workspace; `ws` comes from Warren's read-only node_modules mount. */
const APP = `const http = require('http');
const { WebSocketServer } = require('/.warren/node_modules/ws');
const s = http.createServer((q, r) => {
  r.setHeader('content-type', 'application/json');
  r.end(JSON.stringify({ url: q.url, host: q.headers.host, xfh: q.headers['x-forwarded-host'] || null,
    xff: q.headers['x-forwarded-for'] || null, cookie: q.headers.cookie || null }));
});
new WebSocketServer({ server: s }).on('connection', (w, q) => w.on('message', (m) => w.send(q.url + ':' + m)));
s.listen(Number(process.argv[1]), '0.0.0.0');`;

function viaHost(slug: string, path: string): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1', port: server.port, path, agent: false,
      headers: { host: `${slug}.localhost:${server.port}`, cookie: 'app=1' },
    }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : null }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function viaPath(slug: string, path: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${server.url}/p/${slug}${path}`);
  return { status: res.status, body: await res.json() };
}

function openSocket(url: string): Promise<WebSocket> {
  const ws = new WebSocket(url);
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

function echo(ws: WebSocket, text: string): Promise<string> {
  return new Promise((resolve) => {
    ws.once('message', (m) => resolve(String(m)));
    ws.send(text);
  });
}

before(async () => {
  await ensureTestImages(['node-20']);
  server = await startServer();
  home = mkdtempSync(join(tmpdir(), 'warren-pa-home-'));
  client = new Oblien({ clientId: ADMIN.clientId, clientSecret: ADMIN.clientSecret, baseUrl: server.url });
  const ws = await client.workspaces.create({ image: 'node-20', name: 'public-access', memory_mb: 256 });
  wsId = ws.id;
  // The runtime API (used to start the app) needs public_access; the app's port is
  // opened to the edge by exposing it (the host → workspace firewall follows exposures).
  await client.workspaces.network.update(wsId, { public_access: true });
  const { token } = await client.workspaces.apiAccess.enable(wsId);
  const rt = new Runtime({ token, baseUrl: server.url });
  const started = await rt.exec.run(['sh', '-c', `node -e "$0" ${APP_PORT} > /tmp/app.log 2>&1 &`, APP], { execMode: 'direct' });
  assert.equal(started.exit_code, 0, JSON.stringify(started));
});

after(async () => {
  await server?.stop();
  if (home) rmSync(home, { recursive: true, force: true });
});

/** Whether a plain TCP connect from the host to ip:port succeeds within 1 s. */
function hostConnects(ip: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: ip, port });
    const done = (ok: boolean) => (s.destroy(), resolve(ok));
    s.setTimeout(1000, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

describe('public access through the edge', () => {
  let slug = '';

  test('expose with the official client; reach the app by Host and by path', async () => {
    const port = (await client.workspaces.publicAccess.expose(wsId, { port: APP_PORT, label: 'web app' })) as any;
    assert.equal(port.port, APP_PORT);
    assert.equal(port.label, 'web app');
    assert.match(port.hash, /^[a-z0-9]{8}$/);
    slug = port.hash;
    assert.equal(port.url, `http://${slug}.localhost:${server.port}/`);
    assert.equal(port.path_url, `${server.url}/p/${slug}/`);
    assert.equal(port.domain, null);

    let res = await viaHost(slug, '/hello?x=1');
    for (let i = 0; i < 50 && res.status === 502; i++) {
      await new Promise((r) => setTimeout(r, 100)); // the app may still be starting
      res = await viaHost(slug, '/hello?x=1');
    }
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.url, '/hello?x=1');
    assert.equal(res.body.xfh, `${slug}.localhost:${server.port}`);
    assert.equal(res.body.cookie, 'app=1');
    assert.match(res.body.xff, /127\.0\.0\.1/);

    const byPath = await viaPath(slug, '/deep/path?y=2');
    assert.equal(byPath.status, 200);
    assert.equal(byPath.body.url, '/deep/path?y=2');

    const listed = (await client.workspaces.publicAccess.list(wsId)) as any[];
    assert.deepEqual(listed.map((p) => [p.port, p.hash]), [[APP_PORT, slug]]);
    const ws = (await client.workspaces.get(wsId)) as any;
    assert.deepEqual(ws.public_ports, [{ port: APP_PORT, hash: slug, label: 'web app', url: port.url }]);
  });

  test('the oblien CLI lists the exposed port', async () => {
    const { stdout } = await run(join(ROOT, 'node_modules', '.bin', 'oblien'), ['public-access', 'list', wsId], {
      env: { ...process.env, HOME: home, OBLIEN_CLIENT_ID: ADMIN.clientId, OBLIEN_CLIENT_SECRET: ADMIN.clientSecret, OBLIEN_BASE_URL: server.url },
      timeout: 60_000,
    });
    assert.match(stdout, new RegExp(String(APP_PORT)));
    assert.match(stdout, new RegExp(slug));
  });

  test('bad input gets stable codes', async () => {
    const cases: Array<[unknown, number, string, string]> = [
      [{ port: 9990 }, 400, 'port_reserved', 'port'],
      [{ port: 0 }, 422, 'validation_error', 'port'],
      [{ port: 3000, slug: 'Bad_Slug' }, 422, 'validation_error', 'slug'],
      [{ port: 3000, domain: 'example.com' }, 400, 'domain_not_verified', 'domain'],
      [{ port: 3000, slug }, 409, 'slug_taken', 'slug'],
    ];
    for (const [body, status, code, field] of cases) {
      const res = await api(server, 'POST', `/workspace/${wsId}/public-access`, body);
      assert.equal(res.status, status, res.text);
      assert.equal(res.body.code, code);
      assert.equal(res.body.details.field, field);
    }
    const missing = await api(server, 'PATCH', `/workspace/${wsId}/public-access/4444`, { slug: 'abc' });
    assert.equal(missing.status, 404);
    assert.equal((await api(server, 'DELETE', `/workspace/${wsId}/public-access/4444`)).status, 404);
    const unknown = await viaPath('no-such-slug', '/');
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.success, false);
  });

  test('WebSocket through the edge; slug change; revoke cuts the socket and 404s', async () => {
    const hostWs = await openSocket(`ws://127.0.0.1:${server.port}/p/${slug}/chat`);
    assert.equal(await echo(hostWs, 'hi'), '/chat:hi');

    const newSlug = `pa-${randomBytes(4).toString('hex')}`;
    const updated = (await client.workspaces.publicAccess.updateSlug(wsId, APP_PORT, { slug: newSlug })) as any;
    assert.equal(updated.hash, newSlug);
    assert.equal(updated.label, 'web app');
    await new Promise((r) => (hostWs.readyState === WebSocket.CLOSED ? r(null) : hostWs.once('close', r)));
    assert.equal((await viaPath(slug, '/')).status, 404);
    assert.equal((await viaHost(newSlug, '/after')).body.url, '/after');

    const live = await openSocket(`ws://127.0.0.1:${server.port}/p/${newSlug}/live`);
    assert.equal(await echo(live, 'x'), '/live:x');
    const ip = (await client.workspaces.network.get(wsId)).ip;
    assert.equal(await hostConnects(ip, APP_PORT), true, 'the exposed port is open to the host');
    const closed = new Promise((r) => live.once('close', r));
    await client.workspaces.publicAccess.revoke(wsId, APP_PORT);
    await closed;
    assert.equal(await hostConnects(ip, APP_PORT), false, 'revoked: the host → workspace firewall closed it');
    assert.equal((await viaPath(newSlug, '/')).status, 404);
    assert.equal((await viaHost(newSlug, '/')).status, 404);
    assert.deepEqual(await client.workspaces.publicAccess.list(wsId), []);
  });

  test('a stopped workspace answers 409 workspace_not_running', async () => {
    const port = (await client.workspaces.publicAccess.expose(wsId, { port: APP_PORT })) as any;
    const stopped = await api(server, 'POST', `/workspace/${wsId}/stop`);
    assert.deepEqual(stopped.body.workspace.public_ports.map((p: any) => p.hash), [port.hash], 'power answers show the exposures');
    const res = await viaPath(port.hash, '/');
    assert.equal(res.status, 409);
    assert.equal(res.body.code, 'workspace_not_running');
  });
});
