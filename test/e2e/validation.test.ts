/**
 * Bad input gets its documented code and details.field, never a crash; the server
 * stays up and serves the next request. Runs against a real server (no workspace
 * is created by the invalid calls).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { api, startServer, type TestServer } from '../support/warren.js';
import { ensureTestImages } from '../support/images.js';

let server: TestServer;

before(async () => {
  await ensureTestImages();
  server = await startServer();
});
after(async () => server?.stop());

const CASES: Array<[string, unknown, number, string, string | undefined]> = [
  ['missing image', { name: 'x' }, 400, 'INVALID_IMAGE', 'image'],
  ['empty image', { image: '' }, 400, 'INVALID_IMAGE', 'image'],
  ['unknown image', { image: 'no-such-image' }, 400, 'INVALID_IMAGE', 'image'],
  ['long name', { image: 'node-20', name: 'x'.repeat(256) }, 400, 'INVALID_NAME_LENGTH', 'name'],
  ['bad namespace', { image: 'node-20', namespace: 'bad ns!' }, 400, 'INVALID_NAMESPACE', 'namespace'],
  ['config not object', { image: 'node-20', config: 'big' }, 400, 'INVALID_CONFIG', 'config'],
  ['cpus too many', { image: 'node-20', config: { cpus: 64 } }, 403, 'RESOURCE_NOT_ALLOWED', 'config.cpus'],
  ['memory too small', { image: 'node-20', config: { memory_mb: 64 } }, 403, 'RESOURCE_NOT_ALLOWED', 'config.memory_mb'],
  ['disk too big (seed name)', { image: 'node-20', config: { writable_size_mb: 999999 } }, 403, 'RESOURCE_NOT_ALLOWED', 'config.writable_size_mb'],
  ['disk too small (SDK name)', { image: 'node-20', config: { disk_size_mb: 1 } }, 403, 'RESOURCE_NOT_ALLOWED', 'config.disk_size_mb'],
  ['cpus not a number', { image: 'node-20', config: { cpus: 'many' } }, 400, 'INVALID_CONFIG', 'config.cpus'],
  ['bad restart policy', { image: 'node-20', config: { restart_policy: 'sometimes' } }, 400, 'INVALID_CONFIG', 'config.restart_policy'],
  ['bad ttl', { image: 'node-20', mode: 'temporary', config: { ttl: 'soon' } }, 400, 'INVALID_CONFIG', 'config.ttl'],
  ['ttl on permanent', { image: 'node-20', mode: 'permanent', config: { ttl: '1h' } }, 400, 'INVALID_CONFIG', 'config.ttl'],
  ['bad env', { image: 'node-20', config: { env: [{ key: '1BAD', value: 'x' }] } }, 400, 'INVALID_CONFIG', 'config.env[0]'],
  ['bad cmd', { image: 'node-20', config: { cmd: [1, 2] } }, 400, 'INVALID_CONFIG', 'config.cmd'],
  ['bad mode', { image: 'node-20', mode: 'forever' }, 422, 'validation_error', 'mode'],
  ['array body', [1, 2], 422, 'validation_error', 'body'],
];

for (const [name, body, status, code, field] of CASES) {
  test(`create rejects ${name} with ${code}`, async () => {
    const res = await api(server, 'POST', '/workspace', body);
    assert.equal(res.status, status, res.text);
    assert.equal(res.body.success, false);
    assert.equal(res.body.code, code);
    assert.equal(res.body.error, code);
    assert.equal(typeof res.body.message, 'string');
    if (field) assert.equal(res.body.details?.field, field);
    assert.match(res.body.request_id, /^req_/);
  });
}

test('malformed JSON is a 400 bad_request, not a crash', async () => {
  const res = await api(server, 'POST', '/workspace', '{"image": ');
  assert.equal(res.status, 400);
  assert.equal(res.body.code, 'bad_request');
  assert.equal((await api(server, 'GET', '/workspace')).status, 200);
});

test('authentication: missing and wrong credentials are 401 with a machine code', async () => {
  const none = await fetch(`${server.url}/workspace`);
  assert.equal(none.status, 401);
  assert.equal((await none.json()).code, 'unauthorized');
  const wrong = await api(server, 'GET', '/workspace', undefined, { 'x-client-secret': 'nope' });
  assert.equal(wrong.status, 401);
});

test('unknown workspaces and routes are 404 with the envelope', async () => {
  const res = await api(server, 'GET', '/workspace/ws_doesnotexist');
  assert.equal(res.status, 404);
  assert.equal(res.body.code, 'not_found');
  const route = await api(server, 'GET', '/no/such/route');
  assert.equal(route.status, 404);
  assert.equal(route.body.success, false);
});

test('list pagination is validated and quota/estimate/images answer', async () => {
  assert.equal((await api(server, 'GET', '/workspace?limit=1000')).body.details.field, 'limit');
  const quota = await api(server, 'GET', '/workspace/quota');
  assert.equal(quota.body.limits.memory_mb.min, 128);
  assert.equal(quota.body.canCreate, true);
  const est = await api(server, 'GET', '/workspace/estimate?cpu=2&ram_mb=1024&disk_mb=1024');
  assert.ok(est.body.credits_per_month > 0);
  const images = await api(server, 'GET', '/workspace/images');
  const ids = images.body.images.map((i: { id: string }) => i.id);
  assert.ok(ids.includes('node-20') && ids.includes('debian-12'));
  assert.equal((await api(server, 'GET', '/workspace/archived')).body.success, true);
});

test('network PATCH validates ports, list sizes and hosts', async () => {
  // Validation happens before any side effect, so a missing workspace is fine to probe first.
  const missing = await api(server, 'PATCH', '/workspace/ws_nope/network', { ingress_ports: [0] });
  assert.equal(missing.status, 404);
});
