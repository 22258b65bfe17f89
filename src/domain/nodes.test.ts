/**
 * The node registry: placement as a pure function (fits, K sampling, none fits, draining
 * and lost never chosen, ties), and the registry's state machine over a real SQLite store
 * (register / re-adopt, heartbeat, lost sweep, drain, reachability, links).
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppError } from '../contract/errors.js';
import { toWireError } from '../contract/envelope.js';
import { openStore } from '../store/open.js';
import { sampleWorkspace } from '../store/contract-fixtures.js';
import type { NodeAllocation, NodeRecord, NodeRegistration, Store } from '../store/store.js';
import {
  checkSameNode, DEFAULT_LOST_AFTER_MS, freeShare, NodeRegistry, nodeRegistrySettings, placeWorkspace,
} from './nodes.js';

const T = '2026-01-01T00:00:00.000Z';
const CAP = { cpus: 8, memory_mb: 16_384, disk_mb: 100_000, max_workspaces: 10 };
const SMALL = { cpus: 1, memory_mb: 1024, disk_mb: 4096 };

function node(id: string, over: Partial<NodeRecord> = {}): NodeRecord {
  return {
    id, name: id, address: `${id}:7443`, subnet: '10.214.0.0/24', capacity: CAP, labels: {}, version: '0.1.0', state: 'ready',
    heartbeat_at: T, registered_at: T, ...over,
  };
}

function held(node_id: string, cpus: number, memory_mb = 0, disk_mb = 0, workspaces = 1): NodeAllocation {
  return { node_id, cpus, memory_mb, disk_mb, workspaces };
}

/** A `random()` that replays `values`, then 0. */
const seq = (...values: number[]) => () => values.shift() ?? 0;

function capacityError(limit: string) {
  return (err: unknown) => err instanceof AppError && err.code === 'HOST_CAPACITY_REACHED' && err.details?.limit === limit;
}

test('freeShare: the tightest resource after the request, slots included; negative when it does not fit', () => {
  assert.equal(freeShare(CAP, { cpus: 4, memory_mb: 0, disk_mb: 0, workspaces: 0 }, { cpus: 2, memory_mb: 0, disk_mb: 0 }), 0.25);
  assert.equal(freeShare({ ...CAP, max_workspaces: 2 }, { cpus: 0, memory_mb: 0, disk_mb: 0, workspaces: 1 }, SMALL), 0);
  assert.ok(freeShare(CAP, { cpus: 0, memory_mb: 16_000, disk_mb: 0, workspaces: 0 }, SMALL) < 0);
  assert.ok(freeShare({ ...CAP, cpus: 0 }, { cpus: 0, memory_mb: 0, disk_mb: 0, workspaces: 0 }, SMALL) < 0);
});

test('placement: with K ≥ the candidates, the node with the most room wins', () => {
  const nodes = [node('a'), node('b'), node('c')];
  const chosen = placeWorkspace(nodes, [held('a', 6), held('b', 2), held('c', 4)], SMALL, 3, Math.random);
  assert.equal(chosen.id, 'b');
});

test('placement: only nodes where the request fits on every resource and the count are candidates', () => {
  const nodes = [node('a'), node('b', { capacity: { ...CAP, max_workspaces: 1 } }), node('c')];
  const allocations = [held('a', 7.5), held('b', 0, 0, 0, 1), held('c', 0, 0, 99_000)];
  assert.throws(() => placeWorkspace(nodes, allocations, SMALL, 3, Math.random), capacityError('node_capacity'));
  assert.equal(placeWorkspace(nodes, allocations, { ...SMALL, cpus: 0.5 }, 3, Math.random).id, 'a');
});

test('placement: draining and lost nodes are never chosen, however empty', () => {
  const nodes = [node('a', { state: 'draining' }), node('b', { state: 'lost' }), node('c')];
  for (let i = 0; i < 50; i++) assert.equal(placeWorkspace(nodes, [held('c', 7)], SMALL, 2, Math.random).id, 'c');
  assert.throws(() => placeWorkspace(nodes.slice(0, 2), [], SMALL, 2, Math.random), capacityError('ready_nodes'));
  assert.throws(() => placeWorkspace([], [], SMALL, 2, Math.random), capacityError('ready_nodes'));
});

test('placement: K samples without repeats; the best of the sample wins, not the best overall', () => {
  // Candidates sorted by id: a (most room), b, c, d. random 0.99 swaps d into slot 0, then 0.5 swaps c into slot 1.
  const nodes = ['a', 'b', 'c', 'd'].map((id) => node(id));
  const allocations = [held('a', 0), held('b', 2), held('c', 4), held('d', 6)];
  assert.equal(placeWorkspace(nodes, allocations, SMALL, 2, seq(0.99, 0.5)).id, 'c', 'sample {d, c}: c has more room');
  assert.equal(placeWorkspace(nodes, allocations, SMALL, 1, seq(0.99)).id, 'd', 'K = 1 is a random fit');
  assert.equal(placeWorkspace(nodes, allocations, SMALL, 2, seq(0, 0)).id, 'a');
  // Over many draws with K = 2, the fullest node is never chosen (it loses to whichever node it is paired with).
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) seen.add(placeWorkspace(nodes, allocations, SMALL, 2, Math.random).id);
  assert.deepEqual([...seen].sort(), ['a', 'b', 'c']);
});

test('placement: ties go to the lower id; K below 1 counts as 1', () => {
  const nodes = [node('b'), node('a'), node('c')];
  assert.equal(placeWorkspace(nodes, [], SMALL, 3, Math.random).id, 'a');
  assert.equal(placeWorkspace(nodes, [], SMALL, 0, seq(0)).id, 'a');
});

test('settings: defaults and the environment; a bad value is refused', () => {
  assert.deepEqual(nodeRegistrySettings({}), { lostAfterMs: DEFAULT_LOST_AFTER_MS, placementK: 3 });
  assert.deepEqual(nodeRegistrySettings({ WARREN_NODE_LOST_AFTER_MS: '3000', WARREN_PLACEMENT_K: '5' }), { lostAfterMs: 3000, placementK: 5 });
  assert.throws(() => nodeRegistrySettings({ WARREN_PLACEMENT_K: '0' }), /WARREN_PLACEMENT_K/);
  assert.throws(() => nodeRegistrySettings({ WARREN_NODE_LOST_AFTER_MS: 'soon' }), /WARREN_NODE_LOST_AFTER_MS/);
});

test('links: workspaces on one node (or both local) pass; different nodes → 409 cross_node_link', () => {
  checkSameNode({ id: 'ws_a', nodeId: 'n1' }, { id: 'ws_b', nodeId: 'n1' });
  checkSameNode({ id: 'ws_a', nodeId: null }, { id: 'ws_b', nodeId: null });
  assert.throws(() => checkSameNode({ id: 'ws_a', nodeId: 'n1' }, { id: 'ws_b', nodeId: 'n2' }),
    (err: unknown) => err instanceof AppError && err.code === 'cross_node_link');
});

// --- the registry over a real store ---

async function registry(t: TestContext, start = Date.parse(T)): Promise<{ reg: NodeRegistry; store: Store; clock: { ms: number } }> {
  const dir = mkdtempSync(join(tmpdir(), 'warren-nodes-'));
  const store = await openStore({ dataDir: dir });
  t.after(async () => { await store.close(); rmSync(dir, { recursive: true, force: true }); });
  const clock = { ms: start };
  return { reg: new NodeRegistry({ store, now: () => new Date(clock.ms), random: () => 0 }), store, clock };
}

function registration(id: string): NodeRegistration {
  return { id, name: id, address: '127.0.0.1:7443', subnet: '10.214.0.0/24', capacity: CAP, labels: { zone: 'a' }, version: '0.1.0' };
}

const code = (c: string) => (err: unknown) => err instanceof AppError && err.code === c;

test('registry: register is idempotent; heartbeats keep a node ready; silence makes it lost once', async (t) => {
  const { reg, clock } = await registry(t);
  assert.equal((await reg.register(registration('n1'))).node.state, 'ready');
  assert.equal((await reg.register(registration('n1'))).readopted, false);
  await reg.register(registration('n2'));
  clock.ms += 10_000;
  await reg.heartbeat('n1');
  clock.ms += 10_000;
  assert.deepEqual(await reg.sweepLost(), ['n2'], 'n2 silent 20 s, n1 10 s');
  assert.deepEqual(await reg.sweepLost(), []);
  await assert.rejects(reg.heartbeat('n2'), code('node_lost'));
  await assert.rejects(reg.heartbeat('nope'), code('node_not_found'));
  const views = await reg.list();
  assert.deepEqual(views.map((v) => [v.id, v.state, v.heartbeat_age_ms]), [['n1', 'ready', 10_000], ['n2', 'lost', 20_000]]);
});

test('registry: a lost node that registers again is ready with its workspaces (re-adopted, not recreated)', async (t) => {
  const { reg, store, clock } = await registry(t);
  await reg.register(registration('n1'));
  const ws = sampleWorkspace({ nodeId: 'n1', state: 'running' });
  await store.insertWorkspace(ws);
  clock.ms += DEFAULT_LOST_AFTER_MS + 1;
  assert.deepEqual(await reg.sweepLost(), ['n1']);
  const lost = await reg.assertReachable(ws).then(() => null, (err: unknown) => err);
  assert.ok(lost instanceof AppError && lost.code === 'node_lost' && lost.details?.node_id === 'n1', String(lost));
  const wire = toWireError(lost, 'req_0123456789abcdef');
  assert.equal(wire.status, 503);
  assert.deepEqual([wire.body.code, wire.body.message, wire.body.details],
    ['node_lost', 'The workspace\'s node is unreachable; retry once it returns', { node_id: 'n1', retry_after: 5 }]);
  const back = await reg.register(registration('n1'));
  assert.deepEqual([back.node.state, back.readopted], ['ready', true]);
  await reg.assertReachable(ws);
  assert.deepEqual(await store.getWorkspace(ws.id), ws, 'the record is untouched');
  assert.equal((await reg.view('n1')).allocated.workspaces, 1);
});

test('registry: drain stops placements, undrain resumes; a lost node cannot be drained; unknown → node_not_found', async (t) => {
  const { reg, clock } = await registry(t);
  await reg.register(registration('n1'));
  await reg.register(registration('n2'));
  assert.equal((await reg.drain('n1')).state, 'draining');
  assert.equal((await reg.drain('n1')).state, 'draining', 'idempotent');
  for (let i = 0; i < 5; i++) assert.equal((await reg.place(SMALL)).id, 'n2');
  assert.equal((await reg.register(registration('n1'))).node.state, 'draining', 're-registering keeps the drain');
  assert.equal((await reg.undrain('n1')).state, 'ready');
  clock.ms += 60_000;
  await reg.sweepLost();
  await assert.rejects(reg.drain('n1'), code('invalid_state'));
  await assert.rejects(reg.undrain('n1'), code('invalid_state'));
  await assert.rejects(reg.drain('nope'), code('node_not_found'));
  await assert.rejects(reg.get('nope'), code('node_not_found'));
  await assert.rejects(reg.place(SMALL), capacityError('ready_nodes'));
});

test('registry: place counts what each node\'s workspaces hold; local workspaces count on no node', async (t) => {
  const { reg, store } = await registry(t);
  await reg.register(registration('n1'));
  await reg.register(registration('n2'));
  const cfg = { ...sampleWorkspace().config, cpus: 6, memory_mb: 1024, disk_size_mb: 1024 };
  await store.insertWorkspace(sampleWorkspace({ nodeId: 'n1', config: cfg }));
  await store.insertWorkspace(sampleWorkspace({ nodeId: null, config: { ...cfg, cpus: 8 } }));
  assert.equal((await reg.place(SMALL)).id, 'n2');
  assert.equal((await reg.place({ ...SMALL, cpus: 3 })).id, 'n2');
  await store.insertWorkspace(sampleWorkspace({ nodeId: 'n2', config: { ...cfg, cpus: 7 } }));
  await assert.rejects(reg.place({ ...SMALL, cpus: 3 }), capacityError('node_capacity'));
});

test('registry: place counts the reservation\'s earlier placements (batch) like stored ones', async (t) => {
  const { reg, store } = await registry(t);
  await reg.register(registration('n1'));
  await reg.register(registration('n2'));
  const cfg = { ...sampleWorkspace().config, cpus: 2, memory_mb: 1024, disk_size_mb: 1024 };
  await store.insertWorkspace(sampleWorkspace({ nodeId: 'n1', config: cfg }));
  assert.equal((await reg.place(SMALL)).id, 'n2', 'n2 is emptier');
  const batch = [{ nodeId: 'n2', demand: { cpus: 4, memory_mb: 1024, disk_mb: 1024 } }, { nodeId: null, demand: { cpus: 8, memory_mb: 1, disk_mb: 1 } }];
  assert.equal((await reg.place(SMALL, undefined, batch)).id, 'n1', 'the batch fills n2 more than n1\'s stored workspace');
  const full = [{ nodeId: 'n1', demand: { cpus: 6, memory_mb: 1, disk_mb: 1 } }, { nodeId: 'n2', demand: { cpus: 8, memory_mb: 1, disk_mb: 1 } }];
  await assert.rejects(reg.place(SMALL, undefined, full), capacityError('node_capacity'));
});
