/**
 * The node registry routes in this process (test/support/in-process.ts): a single-process
 * serve lists no nodes; nodes registered in its store are listed with what their
 * workspaces hold; drain / undrain; unknown, malformed and lost nodes; admin only.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startInProcess, type InProcessWarren } from '../support/in-process.js';
import { nodeRegistration as registration } from '../support/nodes.js';

let w: InProcessWarren;

before(async () => {
  w = await startInProcess();
});
after(async () => w?.close());


test('a single-process serve lists no nodes', async () => {
  const r = await w.request('GET', '/nodes');
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(r.body, { success: true, nodes: [], total: 0 });
});

test('registered nodes: list and one node with state, heartbeat, capacity and what their workspaces hold', async () => {
  const store = w.domain.store;
  await store.registerNode(registration('n-b'), new Date().toISOString());
  await store.registerNode(registration('n-a'), new Date(Date.now() - 2_000).toISOString());
  const created = await w.request('POST', '/workspace', { image: 'node-20', config: { cpus: 2, memory_mb: 1024 } });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const id = created.body.workspace.id as string;
  const rec = (await store.getWorkspace(id))!;
  await store.updateWorkspace({ ...rec, nodeId: 'n-a' });

  const list = await w.request('GET', '/nodes');
  assert.equal(list.status, 200);
  assert.equal(list.body.total, 2);
  assert.deepEqual(list.body.nodes.map((n: any) => [n.id, n.state, n.allocated.workspaces]), [['n-a', 'ready', 1], ['n-b', 'ready', 0]]);
  const one = await w.request('GET', '/nodes/n-a');
  assert.equal(one.status, 200);
  const n = one.body.node;
  assert.deepEqual([n.name, n.address, n.subnet, n.labels, n.version, n.capacity], ['host-n-a', '127.0.0.1:7443', '10.214.0.0/24', { zone: 'z1' }, '0.1.0', registration('n-a').capacity]);
  assert.deepEqual([n.allocated.cpus, n.allocated.memory_mb, n.allocated.workspaces], [2, 1024, 1]);
  assert.ok(n.heartbeat_age_ms >= 2_000 && n.heartbeat_age_ms < 60_000, String(n.heartbeat_age_ms));
  assert.equal(typeof n.registered_at, 'string');

  await store.updateWorkspace({ ...(await store.getWorkspace(id))!, nodeId: null });
  assert.equal((await w.request('DELETE', `/workspace/${id}`)).status, 200);
});

test('drain and undrain; re-draining is idempotent', async () => {
  const drained = await w.request('POST', '/nodes/n-b/drain');
  assert.equal(drained.status, 200, JSON.stringify(drained.body));
  assert.equal(drained.body.node.state, 'draining');
  assert.equal((await w.request('POST', '/nodes/n-b/drain')).body.node.state, 'draining');
  assert.equal((await w.request('GET', '/nodes/n-b')).body.node.state, 'draining');
  const back = await w.request('POST', '/nodes/n-b/undrain');
  assert.equal(back.status, 200);
  assert.equal(back.body.node.state, 'ready');
});

test('unknown node → 404 node_not_found; a malformed id → 422 on field id; a lost node cannot be drained', async () => {
  for (const [method, path] of [['GET', '/nodes/nope'], ['POST', '/nodes/nope/drain'], ['POST', '/nodes/nope/undrain']] as const) {
    const r = await w.request(method, path);
    assert.equal(r.status, 404, path);
    assert.equal(r.body.code, 'node_not_found', JSON.stringify(r.body));
  }
  const bad = await w.request('GET', `/nodes/${encodeURIComponent('-bad id')}`);
  assert.equal(bad.status, 422);
  assert.equal(bad.body.details.field, 'id');

  await w.domain.store.registerNode(registration('n-lost'), new Date(Date.now() - 3_600_000).toISOString());
  assert.deepEqual(await w.domain.store.markNodesLost(new Date(Date.now() - 60_000).toISOString()), ['n-lost']);
  const r = await w.request('POST', '/nodes/n-lost/drain');
  assert.equal(r.status, 409);
  assert.equal(r.body.code, 'invalid_state');
  assert.equal((await w.request('GET', '/nodes/n-lost')).body.node.state, 'lost');
});

test('admin only: a billing key gets 403', async () => {
  const key = await w.request('POST', '/api-keys', { scope: 'billing' });
  assert.equal(key.status, 201, JSON.stringify(key.body));
  const as = { 'x-client-id': key.body.client_id, 'x-client-secret': key.body.client_secret };
  for (const [method, path] of [['GET', '/nodes'], ['GET', '/nodes/n-a'], ['POST', '/nodes/n-a/drain'], ['POST', '/nodes/n-a/undrain']] as const) {
    assert.equal((await w.request(method, path, undefined, as)).status, 403, path);
  }
  assert.equal((await w.request('GET', '/nodes/n-a')).body.node.state, 'ready');
});
