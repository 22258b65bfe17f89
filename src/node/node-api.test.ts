/**
 * The node API's own rules over a real HTTP server on loopback, with a recording stand-in
 * for the node's backend (pure request handling; the API over a real Orchestrator is in
 * the backend conformance suite): token binding (node, op, workspace, purpose, key,
 * expiry, single use), body caps and shapes, and how errors cross the hop.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { AppError } from '../contract/errors.js';
import type { WorkspaceBackend } from '../domain/backend.js';
import { sampleWorkspace } from '../store/contract-fixtures.js';
import type { WorkspaceRecord } from '../store/store.js';
import { nodeApiHandler, nodeApiTarget, type NodeApiOp } from './node-api.js';
import { generateNodeKey, NodeTokenSigner, NodeTokenVerifier } from './node-tokens.js';

const KEY = generateNodeKey('k1');
const NODE = 'node-a';

/** Records the ops it ran; `fail` makes the next op throw it. */
function fakeBackend() {
  const ran: string[] = [];
  let fail: unknown = null;
  const step = (op: string) => async (rec: WorkspaceRecord) => {
    ran.push(`${op}:${rec.id}`);
    if (fail) throw fail;
  };
  const backend = {
    bringUp: async (rec: WorkspaceRecord) => { await step('bring-up')(rec); rec.imageId = 'sha256:pinned'; },
    bringDown: step('bring-down'), pause: step('pause'), resume: step('resume'), destroy: step('destroy'),
    destroySandbox: step('destroy-sandbox'), updateResources: step('update-resources'), syncAgentToken: step('sync-agent-token'),
    inspect: async (rec: WorkspaceRecord) => { await step('inspect')(rec); return { state: 'running', pid: 42 }; },
    stats: async (rec: WorkspaceRecord) => { await step('stats')(rec); return { cpuUsageNs: 1 }; },
    takeReady: async (_n: string, want: { image: string } | null) => {
      ran.push(`pool-take:${want?.image ?? '-'}`);
      return { ready: want ? { ip: '10.1.0.9', shortId: 'abcdef01' } : null, held: ['10.1.0.9'] };
    },
    assignReady: async (_n: string, id: string, r: { shortId: string }) => { ran.push(`pool-assign:${id}:${r.shortId}`); },
    putBackReady: async (_n: string, r: { shortId: string }) => { ran.push(`pool-put-back:${r.shortId}`); },
  } as unknown as WorkspaceBackend;
  return { backend, ran, failNext: (err: unknown) => { fail = err; } };
}

async function start(t: TestContext, maxBodyBytes?: number) {
  const fake = fakeBackend();
  const logged: Array<Record<string, unknown> | undefined> = [];
  const handler = nodeApiHandler({
    nodeId: NODE, verifier: new NodeTokenVerifier([KEY]), backend: fake.backend,
    log: (_m, f) => logged.push(f), ...(maxBodyBytes ? { maxBodyBytes } : {}),
  });
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const port = (server.address() as { port: number }).port;
  const post = async (op: string, token: string | null, body: unknown, method = 'POST') => {
    const res = await fetch(`http://127.0.0.1:${port}/v1/node/workspaces/${op}`, {
      method, headers: { 'content-type': 'application/json', ...(token ? { authorization: `Warren-Node ${token}` } : {}) },
      ...(method === 'POST' ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}), // { record } is bodyOf(record)
    });
    return { status: res.status, body: await res.json() as any };
  };
  return { ...fake, logged, post };
}

const signer = new NodeTokenSigner(KEY, 'replica-1');
/** The body `post` sends for a record (tokens bind its exact bytes). */
const bodyOf = (rec: WorkspaceRecord) => JSON.stringify({ record: rec });
const tokenFor = (op: NodeApiOp, rec: WorkspaceRecord, node = NODE) => signer.sign(node, nodeApiTarget(op, rec.id, bodyOf(rec)), 'api');
const record = (over: Partial<WorkspaceRecord> = {}) => sampleWorkspace({ nodeId: NODE, ...over });

test('node api: a bound api token runs the op once; bring-up returns the pinned image; inspect and stats their values', async (t) => {
  const api = await start(t);
  const rec = record();
  assert.deepEqual(await api.post('bring-up', tokenFor('bring-up', rec), { record: rec }), { status: 200, body: { result: null, imageId: 'sha256:pinned' } });
  assert.deepEqual(await api.post('inspect', tokenFor('inspect', rec), { record: rec }), { status: 200, body: { result: { state: 'running', pid: 42 } } });
  assert.deepEqual(await api.post('stats', tokenFor('stats', rec), { record: rec }), { status: 200, body: { result: { cpuUsageNs: 1 } } });
  assert.deepEqual(await api.post('destroy-sandbox', tokenFor('destroy-sandbox', rec), { record: rec }), { status: 200, body: { result: null } });
  assert.deepEqual(api.ran, ['bring-up', 'inspect', 'stats', 'destroy-sandbox'].map((op) => `${op}:${rec.id}`));
});

test('node api: no token 401; forged, replayed, expired, wrong node, op, workspace, body or purpose 403; nothing runs', async (t) => {
  const api = await start(t);
  const rec = record();
  const other = record();
  const target = nodeApiTarget('destroy', rec.id, bodyOf(rec));
  const forged = new NodeTokenSigner(generateNodeKey('k1'), 'replica-1').sign(NODE, target, 'api');
  const expired = new NodeTokenSigner(KEY, 'replica-1', 60_000, () => Date.now() - 120_000).sign(NODE, target, 'api');
  const used = tokenFor('inspect', rec);
  assert.equal((await api.post('inspect', used, { record: rec })).status, 200);
  const refusals: Array<[string, string | null]> = [
    ['no token', null],
    ['forged (another key, same kid)', forged],
    ['replayed', used],
    ['expired', expired],
    ['another node', tokenFor('destroy', rec, 'node-b')],
    ['another op', tokenFor('bring-down', rec)],
    ['another workspace', tokenFor('destroy', other)],
    ['another purpose', signer.sign(NODE, target, 'agent')],
    ['another body', tokenFor('destroy', { ...rec, ip: '10.9.9.9' })],
    ['garbage', 'wn1.k1.x.y'],
  ];
  for (const [what, token] of refusals) {
    const res = await api.post(token === used ? 'inspect' : 'destroy', token, { record: rec });
    assert.equal(res.status, token === null ? 401 : 403, what);
    assert.equal(res.body.error.code, token === null ? 'unauthorized' : 'forbidden', what);
    assert.equal(res.body.error.details.field, 'authorization', what);
  }
  assert.deepEqual(api.ran, [`inspect:${rec.id}`], 'only the first, good call ran');
  assert.ok(api.logged.some((f) => f?.reason === 'bad_signature') && api.logged.some((f) => f?.reason === 'replayed'), 'reasons are logged');
});

test('node api: a record for another node is refused; bodies are capped and checked', async (t) => {
  const api = await start(t, 4096);
  const elsewhere = sampleWorkspace({ nodeId: 'node-b' });
  const res = await api.post('destroy', tokenFor('destroy', elsewhere), { record: elsewhere });
  assert.deepEqual([res.status, res.body.error.code, res.body.error.details.field], [400, 'bad_request', 'record.nodeId']);
  const rec = record({ metadata: { big: 'x'.repeat(5000) } });
  const big = await api.post('destroy', tokenFor('destroy', rec), { record: rec });
  assert.deepEqual([big.status, big.body.error.code], [413, 'payload_too_large']);
  const notJson = await api.post('destroy', tokenFor('destroy', rec), '{nope');
  assert.deepEqual([notJson.status, notJson.body.error.code], [400, 'bad_request']);
  const { shortId: _gone, ...partial } = record();
  const shape = await api.post('destroy', tokenFor('destroy', partial as WorkspaceRecord), { record: partial });
  assert.deepEqual([shape.status, shape.body.error.code, shape.body.error.details.field], [422, 'validation_error', 'record.shortId']);
  assert.equal((await api.post('reboot', tokenFor('destroy', rec), { record: rec })).status, 404);
  assert.equal((await api.post('destroy', tokenFor('destroy', rec), undefined, 'GET')).status, 405);
  assert.deepEqual(api.ran, []);
});

test('node api: an AppError keeps its code, status and details; anything else is a fixed 500', async (t) => {
  const api = await start(t);
  const rec = record();
  api.failNext(new AppError('VM_UNAVAILABLE', 'The workspace started but its runtime agent did not answer', { field: 'agent' }));
  const app = await api.post('bring-up', tokenFor('bring-up', rec), { record: rec });
  assert.deepEqual(app, { status: 503, body: { error: { code: 'VM_UNAVAILABLE', message: 'The workspace started but its runtime agent did not answer', details: { field: 'agent' } } } });
  api.failNext(new Error('ENOENT: /var/lib/warren/secret/path'));
  const other = await api.post('bring-down', tokenFor('bring-down', rec), { record: rec });
  assert.equal(other.status, 500);
  assert.deepEqual(other.body, { error: { code: 'server_error', message: 'The node could not complete the operation', details: {} } });
});

test('node api: apply ops on one workspace run one at a time; inspect does not wait for them', async (t) => {
  let running = 0;
  let most = 0;
  const order: string[] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => { release = r; });
  const backend = {
    async bringUp(rec: WorkspaceRecord) {
      running++;
      most = Math.max(most, running);
      order.push(`up:${rec.id}`);
      await gate;
      running--;
    },
    async inspect() { return { state: 'running' }; },
  } as unknown as WorkspaceBackend;
  const server = createServer(nodeApiHandler({ nodeId: NODE, verifier: new NodeTokenVerifier([KEY]), backend }));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const port = (server.address() as { port: number }).port;
  const post = (op: NodeApiOp, rec: WorkspaceRecord) => fetch(`http://127.0.0.1:${port}/v1/node/workspaces/${op}`, {
    method: 'POST', body: JSON.stringify({ record: rec }),
    headers: { 'content-type': 'application/json', authorization: `Warren-Node ${tokenFor(op, rec)}` },
  }).then((r) => r.status);
  const a = record();
  const b = record();
  const ups = [post('bring-up', a), post('bring-up', a), post('bring-up', b)];
  while (order.length < 2) await new Promise((r) => setTimeout(r, 5));
  assert.equal(await post('inspect', a), 200, 'inspect answers while a bring-up of the same workspace runs');
  assert.deepEqual(order.sort(), [`up:${a.id}`, `up:${b.id}`], 'the second bring-up of a waits; b runs beside it');
  release();
  assert.deepEqual(await Promise.all(ups), [200, 200, 200]);
  assert.equal(order.length, 3);
  assert.equal(most, 2, 'never two at once on one workspace');
});

test('node api: pool ops take, assign and put back with tokens bound to op, subject (pool or the workspace) and body', async (t) => {
  const api = await start(t);
  const ready = { ip: '10.1.0.9', shortId: 'abcdef01' };
  const take = { pool: { want: { image: 'debian-12', imageId: 'sha256:x' } } };
  const assign = { pool: { workspaceId: 'ws_1', ready } };
  const putBack = { pool: { ready } };
  const sign = (op: NodeApiOp, subject: string, body: unknown, node = NODE) => signer.sign(node, nodeApiTarget(op, subject, JSON.stringify(body)), 'api');
  assert.deepEqual(await api.post('pool-take', sign('pool-take', 'pool', take), take), { status: 200, body: { result: { ready, held: [ready.ip] } } });
  assert.deepEqual(await api.post('pool-assign', sign('pool-assign', 'ws_1', assign), assign), { status: 200, body: { result: null } });
  assert.deepEqual(await api.post('pool-put-back', sign('pool-put-back', 'pool', putBack), putBack), { status: 200, body: { result: null } });
  const refused: Array<[string, string, string, unknown]> = [
    ['another op', 'pool-assign', sign('pool-put-back', 'ws_1', assign), assign],
    ['another workspace', 'pool-assign', sign('pool-assign', 'ws_2', assign), assign],
    ['another body', 'pool-take', sign('pool-take', 'pool', { pool: { want: null } }), take],
    ['another node', 'pool-take', sign('pool-take', 'pool', take, 'node-b'), take],
  ];
  for (const [what, op, token, body] of refused) assert.equal((await api.post(op, token, body)).status, 403, what);
  assert.equal((await api.post('pool-take', null, take)).status, 401);
  const bad = { pool: { ready } };
  const res = await api.post('pool-assign', sign('pool-assign', 'pool', bad), bad);
  assert.deepEqual([res.status, res.body.error.code, res.body.error.details.field], [422, 'validation_error', 'pool.workspaceId']);
  assert.deepEqual(api.ran, ['pool-take:debian-12', 'pool-assign:ws_1:abcdef01', 'pool-put-back:abcdef01']);
});
