/**
 * Route tests in this process (test/support/in-process.ts): the real control plane and
 * domain over a SQLite store, with the memory driver. The pattern for fast tests of a
 * route: create → lifecycle → delete, and validation refusals with their code and field.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startInProcess, type InProcessWarren } from '../support/in-process.js';

let w: InProcessWarren;

before(async () => {
  w = await startInProcess();
});
after(async () => w?.close());

async function sandboxOf(id: string) {
  const rec = await w.domain.store.getWorkspace(id);
  assert.ok(rec, `no record ${id}`);
  return { rec, status: await w.driver.inspect(await w.domain.orchestrator.spec(rec, false)) };
}

test('create → stop → start → pause → resume → delete, the memory sandbox following each step', async () => {
  const created = await w.request('POST', '/workspace', { image: 'node-20', name: 'in-process' });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const ws = created.body.workspace;
  assert.equal(ws.status, 'running');
  assert.match(ws.ip, /^127\./);
  assert.equal((await sandboxOf(ws.id)).status.state, 'running');

  const stopped = await w.request('POST', `/workspace/${ws.id}/stop`);
  assert.equal(stopped.status, 200, JSON.stringify(stopped.body));
  assert.equal((await w.request('GET', `/workspace/${ws.id}`)).body.workspace.status, 'stopped');
  assert.equal((await sandboxOf(ws.id)).status.state, 'stopped');
  assert.equal((await w.request('POST', `/workspace/${ws.id}/stop`)).status, 200, 'stop is safe to repeat');
  const refused = await w.request('POST', `/workspace/${ws.id}/pause`);
  assert.equal(refused.body.code, 'invalid_state');
  assert.equal(refused.body.details.current_state, 'stopped');

  assert.equal((await w.request('POST', `/workspace/${ws.id}/start`)).status, 200);
  assert.equal((await w.request('GET', `/workspace/${ws.id}`)).body.workspace.status, 'running');
  assert.equal((await w.request('POST', `/workspace/${ws.id}/pause`)).status, 200);
  assert.equal((await sandboxOf(ws.id)).status.state, 'paused');
  assert.equal((await w.request('POST', `/workspace/${ws.id}/resume`)).status, 200);
  assert.equal((await sandboxOf(ws.id)).status.state, 'running');

  const shortId = (await sandboxOf(ws.id)).rec.shortId;
  const deleted = await w.request('DELETE', `/workspace/${ws.id}`);
  assert.equal(deleted.status, 200, JSON.stringify(deleted.body));
  const gone = await w.request('GET', `/workspace/${ws.id}`);
  assert.equal(gone.status, 404);
  assert.ok(!(await w.driver.listResidue()).includes(shortId), 'the sandbox went with the workspace');
});

test('a sandbox whose command exits is seen by the domain (exit watch through the driver)', async () => {
  const ws = (await w.request('POST', '/workspace', { image: 'debian-12' })).body.workspace;
  const { rec } = await sandboxOf(ws.id);
  await w.driver.exitByItself(rec.shortId, 3);
  const deadline = Date.now() + 10_000;
  let status = '';
  while (Date.now() < deadline && status !== 'stopped') {
    status = (await w.request('GET', `/workspace/${ws.id}`)).body.workspace.status;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(status, 'stopped');
  assert.equal((await w.request('DELETE', `/workspace/${ws.id}`)).status, 200);
});

const REFUSALS: Array<[string, unknown, number, string, string]> = [
  ['unknown image', { image: 'no-such-image' }, 400, 'INVALID_IMAGE', 'image'],
  ['cpus not a number', { image: 'node-20', config: { cpus: 'many' } }, 400, 'INVALID_CONFIG', 'config.cpus'],
  ['bad mode', { image: 'node-20', mode: 'forever' }, 422, 'validation_error', 'mode'],
  ['array body', [1, 2], 422, 'validation_error', 'body'],
];

for (const [name, body, status, code, field] of REFUSALS) {
  test(`create refuses ${name} with ${code} and field ${field}, creating nothing`, async () => {
    const before = (await w.driver.listResidue()).length;
    const res = await w.request('POST', '/workspace', body);
    assert.equal(res.status, status, JSON.stringify(res.body));
    assert.equal(res.body.success, false);
    assert.equal(res.body.code, code);
    assert.equal(res.body.details?.field, field);
    assert.match(res.body.request_id, /^req_/);
    assert.equal((await w.driver.listResidue()).length, before);
  });
}

test('without credentials a route is a 401 with a machine code', async () => {
  const res = await w.request('GET', '/workspace', undefined, { 'x-client-id': '', 'x-client-secret': '' });
  assert.equal(res.status, 401);
  assert.equal(res.body.code, 'unauthorized');
});
