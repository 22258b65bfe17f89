/**
 * Error hygiene end to end (issue 15): a broad set of requests that provoke refusals from
 * the control plane, the runtime gateway and the agent behind it (bad ids, bad bodies,
 * a stopped workspace, missing files, a bad regex, a terminal on a missing shell, tar of
 * a missing path, archives tar cannot read or extract, a WebSocket with a bad token), and
 * every error answer is searched for host paths, the data dir, tool names, stack frames
 * and private addresses (test/support/leaks.ts). Every 5xx must carry a request id.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { request } from 'node:http';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ADMIN, ROOT, api, startServer, type TestServer } from '../support/warren.js';
import { ensureTestImages, TEST_IMAGES_DIR } from '../support/images.js';
import { adminClient, waitForStatus, type Client } from '../support/workspaces.js';
import { leakReport, type ErrorSample } from '../support/leaks.js';

let server: TestServer;
let client: Client;
let token = '';
let wsId = '';
let scratch = '';
const samples: ErrorSample[] = [];
const MISSING_WS = 'ws_doesnotexist0000';

before(async () => {
  await ensureTestImages();
  server = await startServer();
  client = adminClient(server);
  const ws = await client.workspaces.create({ image: 'debian-12', name: 'hygiene-e2e', memory_mb: 512 });
  wsId = ws.id;
  await waitForStatus(server, wsId, 'running');
  await client.workspaces.network.update(wsId, { public_access: true });
  token = (await client.workspaces.apiAccess.enable(wsId)).token;
  scratch = mkdtempSync(join(tmpdir(), 'whyg-e2e-'));
});

after(async () => {
  if (wsId) await client?.workspaces.delete(wsId).catch(() => undefined);
  await server?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

interface Answer { status: number; body: any; text: string; headers: Headers }

/** One request; any answer ≥ 400 is kept as a sample. Streams (SSE) are cut after 5 s. */
async function send(what: string, url: string, init: RequestInit, allow: string[] = []): Promise<Answer | null> {
  let res: Response;
  try {
    res = await fetch(url, { ...init, signal: AbortSignal.timeout(5000) });
  } catch {
    return null; // a stream that stayed open: not an error answer
  }
  const text = await res.text().catch(() => '');
  let body: any = null;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  if (res.status >= 400) samples.push({ what, status: res.status, body, allow });
  return { status: res.status, body, text, headers: res.headers };
}

const adminHeaders = { 'x-client-id': ADMIN.clientId, 'x-client-secret': ADMIN.clientSecret };
const cp = (method: string, path: string, body?: string, headers: Record<string, string> = {}) =>
  send(`${method} ${path}`, server.url + path, { method, headers: { 'content-type': 'application/json', ...adminHeaders, ...headers }, body });
const runtime = (method: string, path: string, body?: BodyInit, headers: Record<string, string> = {}, allow: string[] = []) =>
  send(`runtime ${method} ${path}`, server.url + path, {
    method, body, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
  }, allow);

/** Every control-plane route declared with a literal path in src/control-plane/routes/. */
function controlPlaneRoutes(): Array<[string, string]> {
  const dir = join(ROOT, 'src/control-plane/routes');
  const out = new Map<string, [string, string]>();
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.ts') && !n.endsWith('.test.ts'))) {
    const src = readFileSync(join(dir, f), 'utf8');
    for (const m of src.matchAll(/\b\w+\.(get|post|put|patch|delete)\(\s*'(\/[^']*)'/g)) {
      out.set(`${m[1]} ${m[2]}`, [m[1]!.toUpperCase(), m[2]!]);
    }
  }
  for (const p of ['/workspace/:id/logs', '/workspace/:id/workloads', '/workspace/:id/runtime-access']) out.set(`get ${p}`, ['GET', p]);
  return [...out.values()];
}

/** Routes that change server-wide state with no input to refuse: not worth provoking. */
const SKIPPED = new Set(['POST /tokens/signing-key/rotate', 'GET /workspace/:id/stats/stream']);

describe('control plane', () => {
  test('every route refuses bad ids and bad bodies cleanly', async () => {
    const routes = controlPlaneRoutes().filter(([m, p]) => !SKIPPED.has(`${m} ${p}`));
    assert.ok(routes.length > 60, `found ${routes.length} routes`);
    const bodies = ['{"image":', '[1,2]', JSON.stringify({ config: { cpus: 'x' }, name: 'x'.repeat(300), ip: '10.9.9.9', port: -1, ttl: 'soon' })];
    for (const [method, pattern] of routes) {
      const path = pattern.replace(/:id|:clientId|:namespace|:version|:port|:name\{\.\+\}/g, (p) =>
        p === ':id' ? MISSING_WS : p === ':port' ? '99999' : p === ':version' ? 'v-nope' : 'nope-123');
      if (method === 'GET' || method === 'DELETE') await cp(method, path);
      else for (const b of bodies) await cp(method, path, b);
    }
    // The real workspace, read-only routes only (mutations could delete or stop it).
    for (const [method, pattern] of routes) {
      if (method !== 'GET' || !pattern.includes(':id')) continue;
      await cp('GET', pattern.replace(':id', wsId).replace(/:\w+(\{[^}]*\})?/g, 'nope'));
    }
    await cp('PUT', `/workspace/${wsId}/lifecycle/ttl`);
    await cp('PUT', `/workspace/${wsId}/resources`, JSON.stringify({ memory_mb: 1 }));
    await cp('POST', `/workspace/${wsId}/network/ip`, JSON.stringify({ ip: 'not-an-ip' }));
    await cp('POST', `/workspace/${wsId}/public-access`, JSON.stringify({ port: 70000 }));
    await cp('GET', '/no/such/route');
    await cp('GET', '/workspace', undefined, { 'x-client-secret': 'wrong' });
    await cp('POST', '/images', 'not an archive', { 'content-type': 'application/octet-stream' });
    await cp('POST', '/images/build', JSON.stringify({ name: 'x', dockerfile: 'FROM nowhere/none\nRUN false\n' }));
    assert.ok(samples.length > 100, `only ${samples.length} error answers provoked`);
  });

  test('the image listing holds no build output', async () => {
    const res = await api(server, 'GET', '/workspace/images');
    assert.equal(res.status, 200);
    const failed = (res.body.images ?? res.body.data ?? []).filter((i: any) => i.status === 'failed');
    // Catalog descriptions name tools on purpose; only a failed build's fields are error text.
    for (const img of failed) {
      assert.equal(img.error_code, 'image_build_failed');
      samples.push({ what: `GET /workspace/images (${img.id} failed)`, status: res.status, body: { error: img.error } });
    }
  });
});

describe('runtime through the gateway', () => {
  test('file, search, transfer, exec, terminal and proxy refusals are clean', async () => {
    const missing = '/srv/hygiene/missing.txt';
    await runtime('GET', `/files/read?path=${encodeURIComponent(missing)}`, undefined, {}, [missing]);
    await runtime('GET', `/files/stat?path=${encodeURIComponent(missing)}`, undefined, {}, [missing]);
    await runtime('GET', `/files?path=${encodeURIComponent(missing)}`, undefined, {}, [missing]);
    await runtime('POST', '/files/write', JSON.stringify({ fullPath: '/proc/1/hygiene', content: 'x' }), {}, ['/proc/1/hygiene']);
    await runtime('POST', '/files/write', JSON.stringify({ fullPath: 42 }));
    await runtime('POST', '/files/mkdir', JSON.stringify({ path: '/proc/hygiene/x' }), {}, ['/proc/hygiene/x']);
    await runtime('POST', '/files/delete', JSON.stringify({ path: missing }), {}, [missing]);
    await runtime('GET', `/files/search?path=/srv&q=${encodeURIComponent('(unclosed')}&regex=true`);
    await runtime('GET', `/files/search?path=${encodeURIComponent(missing)}&q=x`, undefined, {}, [missing]);
    await runtime('GET', '/files/search?path=/srv');
    await runtime('POST', '/files/transfer/download', JSON.stringify({ paths: [missing] }), {}, [missing]);
    await runtime('POST', '/files/transfer/download', JSON.stringify({ paths: ['relative'] }));
    await runtime('POST', '/files/transfer/upload?dest=/srv/up', 'not a tar.gz', { 'content-type': 'application/gzip' }, ['/srv/up']);
    await runtime('POST', '/files/transfer/upload?dest=/srv/up2', unextractable(), { 'content-type': 'application/gzip' }, ['/srv/up2']);
    await runtime('POST', '/exec', JSON.stringify({ cmd: ['/no/such/binary'] }));
    await runtime('POST', '/exec', JSON.stringify({ cmd: 42 }));
    await runtime('GET', '/exec/nope');
    await runtime('POST', '/terminals', JSON.stringify({ cmd: ['/no/such/shell'] }));
    await runtime('POST', '/terminals/99/resize', JSON.stringify({ cols: -1 }));
    await runtime('POST', '/watchers', JSON.stringify({ path: missing }), {}, [missing]);
    await runtime('GET', '/proxy/x', undefined, { 'x-oblien-proxy-target': '1' });
    await runtime('GET', '/runtimes/nosuch/files');
    await runtime('GET', '/files', undefined, { authorization: 'Bearer wrong-token' });
    await runtime('GET', '/files?token=wrong-token', undefined, { authorization: '' });
    const refused = await upgradeRefusal('/ws?token=wrong-token');
    samples.push({ what: 'upgrade /ws (bad token)', status: refused.status, body: refused.body });
    assert.equal(refused.status, 401);
  });

  test('a 5xx from the agent carries the caller\'s request id through the gateway', async () => {
    const r = await runtime('POST', '/exec', JSON.stringify({ cmd: ['/no/such/binary'] }), { 'x-request-id': 'hyg-e2e-1' });
    assert.equal(r?.status, 500, r?.text);
    assert.equal(r!.body.code, 'spawn_failed');
    assert.equal(r!.body.request_id, 'hyg-e2e-1');
    assert.equal(r!.headers.get('x-request-id'), 'hyg-e2e-1');
    assert.equal(r!.body.details.reason, 'ENOENT');
  });

  test('a stopped workspace\'s runtime is a clean 409', async () => {
    await client.workspaces.stop(wsId);
    await waitForStatus(server, wsId, 'stopped');
    const r = await runtime('GET', '/files?path=/');
    assert.equal(r?.status, 409, r?.text);
    await cp('POST', `/workspace/${wsId}/ssh/enable`, '{}');
    await cp('GET', `/workspace/${wsId}/stats`);
  });
});

test('no error answer leaks host paths, tools, stack frames or addresses; every 5xx has a request id', () => {
  const statuses = new Map<number, number>();
  for (const s of samples) statuses.set(s.status, (statuses.get(s.status) ?? 0) + 1);
  console.log(`error answers checked: ${samples.length} (${[...statuses].sort().map(([k, v]) => `${k}×${v}`).join(', ')})`);
  const dataDirs = [server.dataDir, TEST_IMAGES_DIR];
  const leaks = leakReport(samples, { dataDirs, allow: [wsId] });
  assert.deepEqual(leaks, [], `${leaks.length} leaks in ${samples.length} error answers`);
  for (const s of samples) {
    if (s.status < 500) continue;
    assert.ok(typeof s.body === 'object' && s.body?.request_id, `${s.what} (${s.status}) has no request_id: ${JSON.stringify(s.body)}`);
  }
});

/** A tar.gz whose file `blocker` collides with a non-empty directory made first in dest. */
function unextractable(): Uint8Array {
  const dir = join(scratch, 'unx');
  mkdirSync(join(dir, 'blocker'), { recursive: true });
  writeFileSync(join(dir, 'blocker', 'child'), 'x');
  // Two members: the directory with a child, then a plain file of the same name.
  const second = join(scratch, 'unx2');
  mkdirSync(second, { recursive: true });
  writeFileSync(join(second, 'blocker'), 'y');
  const tarA = join(scratch, 'a.tar');
  execFileSync('tar', ['-cf', tarA, '-C', dir, 'blocker']);
  execFileSync('tar', ['-rf', tarA, '-C', second, 'blocker']);
  return new Uint8Array(execFileSync('gzip', ['-c', tarA]));
}

/** Sends a WebSocket upgrade and returns the refusal's status and JSON body. */
function upgradeRefusal(path: string): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request(`${server.url}${path}`, {
      headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' },
    });
    req.on('upgrade', (_res, socket) => {
      socket.destroy();
      reject(new Error('the upgrade was accepted'));
    });
    req.on('response', (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text || 'null') }));
    });
    req.on('error', reject);
    req.end();
  });
}
