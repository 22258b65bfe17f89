/** The agent's routing, target prefix, authentication, token rotation and info routes. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAgent, type AgentHandle } from './harness.js';

let agent: AgentHandle;
const TOKEN = 'b'.repeat(64);

before(async () => {
  agent = await startAgent({ token: TOKEN });
});
after(async () => {
  await agent?.stop();
});

function assertError(r: { status: number; body: any }, status: number, code: string) {
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.equal(r.body?.success, false);
  assert.equal(r.body.code, code);
  assert.equal(r.body.error, code);
  assert.equal(typeof r.body.message, 'string');
}

test('GET /health needs no token and tolerates a wrong one', async () => {
  for (const token of [null, TOKEN, 'wrong']) {
    const r = await agent.call('/health', { token });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { success: true, status: 'ok' });
  }
  assert.equal((await agent.call('/runtimes/default/health', { token: null })).body.status, 'ok');
  assert.equal((await agent.call('/runtimes/linux/health', { token: null })).body.status, 'ok');
});

test('unknown or malformed targets → 404 unknown_target', async () => {
  assertError(await agent.call('/runtimes/macos/health'), 404, 'unknown_target');
  assertError(await agent.call('/runtimes/macos/exec'), 404, 'unknown_target');
  assertError(await agent.call('/runtimes/Bad_Target/runtime'), 404, 'unknown_target');
  assertError(await agent.call(`/runtimes/${'a'.repeat(65)}/runtime`), 404, 'unknown_target');
});

test('auth: header, query, missing and wrong token', async () => {
  assert.equal((await agent.call('/runtime')).status, 200);
  assert.equal((await agent.call(`/runtime?token=${TOKEN}`, { token: null })).status, 200);
  assert.equal((await agent.call('/runtime', { token: null, headers: { authorization: `bearer ${TOKEN}` } })).status, 200);
  assertError(await agent.call('/runtime', { token: null }), 401, 'unauthorized');
  assertError(await agent.call('/runtime', { token: 'c'.repeat(64) }), 401, 'unauthorized');
  assertError(await agent.call('/runtime?token=nope', { token: null }), 401, 'unauthorized');
  assertError(await agent.call('/runtime', { token: null, headers: { authorization: `Basic ${TOKEN}` } }), 401, 'unauthorized');
  // unknown routes do not leak to unauthenticated callers
  assertError(await agent.call('/nope', { token: null }), 401, 'unauthorized');
  assertError(await agent.call('/nope'), 404, 'not_found');
  assertError(await agent.call('/runtime', { method: 'POST' }), 405, 'method_not_allowed');
});

test('token rotation takes effect on the very next request (in place and by rename)', async () => {
  const next = 'd'.repeat(64);
  agent.writeTokenInPlace(next);
  assertError(await agent.call('/runtime', { token: TOKEN }), 401, 'unauthorized');
  assert.equal((await agent.call('/runtime', { token: next })).status, 200);
  // same size, same second: still picked up
  for (let i = 0; i < 5; i++) {
    const t = String(i).repeat(64);
    agent.writeTokenInPlace(t);
    assert.equal((await agent.call('/runtime', { token: t })).status, 200, `rotation ${i}`);
  }
  agent.replaceToken(TOKEN);
  assertError(await agent.call('/runtime', { token: '4'.repeat(64) }), 401, 'unauthorized');
  assert.equal((await agent.call('/runtime', { token: TOKEN })).status, 200);
});

test('empty or missing token file disables the API (401), health stays up', async () => {
  agent.writeTokenInPlace('\n');
  const r = await agent.call('/runtime', { token: '' });
  assertError(r, 401, 'unauthorized');
  assertError(await agent.call('/exec', { token: TOKEN }), 401, 'unauthorized');
  agent.removeToken();
  assertError(await agent.call('/runtime', { token: TOKEN }), 401, 'unauthorized');
  assert.equal((await agent.call('/health')).status, 200);
  agent.replaceToken(TOKEN);
  assert.equal((await agent.call('/runtime')).status, 200);
});

test('GET /runtime and the prefixed form', async () => {
  for (const path of ['/runtime', '/runtimes/default/runtime', '/runtimes/linux/runtime']) {
    const r = await agent.call(path);
    assert.equal(r.status, 200);
    assert.equal(r.body.success, true);
    assert.equal(r.body.os, 'linux');
    assert.equal(typeof r.body.arch, 'string');
    assert.ok(r.body.cpus >= 1);
    assert.equal(r.body.home, '/root');
    assert.match(r.body.shell, /^\/bin\/(ba)?sh$/);
    assert.equal(r.body.protocol_version, 1);
    assert.ok(r.body.capabilities.includes('exec'));
  }
});

test('GET /runtimes discovery is root-only', async () => {
  const r = await agent.call('/runtimes');
  assert.equal(r.status, 200);
  assert.equal(r.body.version, 1);
  assert.equal(r.body.default_target, 'linux');
  assert.deepEqual(r.body.aliases, { default: 'linux' });
  assert.equal(r.body.targets.length, 1);
  const [t] = r.body.targets;
  assert.equal(t.id, 'linux');
  assert.equal(t.local, true);
  assert.equal(t.available, true);
  assert.equal(t.runtime.os, 'linux');
  assertError(await agent.call('/runtimes/linux/runtimes'), 404, 'not_found');
});

test('GET /files/stat', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wtest-stat-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'main.ts'), 'export {};\n');
  chmodSync(join(dir, 'main.ts'), 0o644);
  writeFileSync(join(dir, 'data.bin'), Buffer.alloc(10));
  chmodSync(join(dir, 'data.bin'), 0o600);
  mkdirSync(join(dir, 'sub'));
  symlinkSync('main.ts', join(dir, 'link.ts'));
  const q = (p: string) => `/files/stat?path=${encodeURIComponent(p)}`;

  const f = await agent.call(q(join(dir, 'main.ts')));
  assert.equal(f.status, 200);
  assert.deepEqual(
    { ...f.body, modified: undefined },
    { success: true, path: join(dir, 'main.ts'), name: 'main.ts', type: 'file', size: 11, modified: undefined,
      permissions: '0644', is_code: true, extension: '.ts' },
  );
  assert.ok(!Number.isNaN(Date.parse(f.body.modified)));
  const b = (await agent.call(q(join(dir, 'data.bin')))).body;
  assert.equal(b.permissions, '0600');
  assert.equal(b.is_code, false);
  const d = (await agent.call(`/runtimes/linux${q(join(dir, 'sub'))}`)).body;
  assert.equal(d.type, 'directory');
  assert.equal(d.is_code, false);
  const l = (await agent.call(q(join(dir, 'link.ts')))).body;
  assert.equal(l.type, 'symlink');
  assert.equal(l.symlink_target, 'main.ts');
  assert.equal((await agent.call(q('/'))).body.name, '/');

  assertError(await agent.call('/files/stat'), 400, 'bad_request');
  assertError(await agent.call(q(join(dir, 'missing'))), 404, 'not_found');
  assertError(await agent.call(q(join(dir, 'main.ts', 'x'))), 404, 'not_found');
});

test('hostile input never crashes the agent', async () => {
  assertError(await agent.call('/exec/%E0%A4%A'), 400, 'bad_request');
  assertError(await agent.call('/exec', { method: 'POST', body: '{not json' }), 400, 'bad_request');
  assertError(await agent.call('/exec', { method: 'POST', body: '[1,2]' }), 400, 'bad_request');
  assertError(await agent.call('/exec', { method: 'POST', body: 'null' }), 400, 'bad_request');
  assertError(await agent.call('/files/stat?path=%00'), 400, 'bad_request');
  const big = `{"cmd":["true"],"x":"${'x'.repeat(17 * 1024 * 1024)}"}`;
  assertError(await agent.call('/exec', { method: 'POST', body: big }), 413, 'payload_too_large');
  const raw = await rawRequest(agent.port, 'GET /runtime HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n');
  assert.match(raw, /^HTTP\/1\.1 400/);
  assert.equal((await agent.call('/health')).status, 200);
});

async function rawRequest(port: number, text: string): Promise<string> {
  const { connect } = await import('node:net');
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1', () => sock.write(text));
    let out = '';
    sock.on('data', (c) => (out += c.toString()));
    sock.on('end', () => resolve(out));
    sock.on('error', reject);
    setTimeout(() => {
      sock.destroy();
      resolve(out);
    }, 2000);
  });
}
