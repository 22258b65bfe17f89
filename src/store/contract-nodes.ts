/**
 * Store contract, the node registry (issue 16): registered by runStoreContract inside its
 * describe block, against the same fresh stores. Registration upserts (address and subnet
 * replaced, draining kept, lost → ready, registered_at kept), heartbeats refuse lost nodes, the lost sweep is one
 * statement over stale heartbeats, and allocations sum each node's workspaces.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { NodeRegistration } from './store.js';
import { sampleWorkspace, type StoreHandle } from './contract-fixtures.js';

const T0 = '2026-01-01T00:00:00.000Z';
const T1 = '2026-01-01T00:00:10.000Z';
const T2 = '2026-01-01T00:00:20.000Z';

function reg(id: string, over: Partial<NodeRegistration> = {}): NodeRegistration {
  return {
    id, name: `host ${id} — ✓`, address: '10.0.0.1:7443', subnet: '10.214.0.0/24',
    capacity: { cpus: 7.5, memory_mb: 16_384, disk_mb: 200_000, max_workspaces: 40 },
    labels: { zone: 'eu-1', 'disk type': 'nvme' }, version: '0.1.0', ...over,
  };
}

export function nodeContractTests(fresh: (t: TestContext) => Promise<StoreHandle>): void {
  test('nodes: register inserts ready, re-register updates and keeps registered_at; get and list', async (t) => {
    const { store } = await fresh(t);
    assert.deepEqual(await store.registerNode(reg('n-b'), T0), { ...reg('n-b'), state: 'ready', heartbeat_at: T0, registered_at: T0 });
    await store.registerNode(reg('n-a', { labels: {} }), T0);
    const again = await store.registerNode(reg('n-b', {
      address: '10.0.0.9:7443', subnet: '10.215.8.0/22', version: '0.2.0', capacity: { cpus: 2, memory_mb: 1, disk_mb: 2, max_workspaces: 3 },
    }), T1);
    assert.deepEqual(again, {
      ...reg('n-b'), address: '10.0.0.9:7443', subnet: '10.215.8.0/22', version: '0.2.0', capacity: { cpus: 2, memory_mb: 1, disk_mb: 2, max_workspaces: 3 },
      state: 'ready', heartbeat_at: T1, registered_at: T0,
    });
    assert.deepEqual(await store.getNode('n-b'), again);
    assert.equal(await store.getNode('n-missing'), null);
    assert.deepEqual((await store.listNodes()).map((n) => [n.id, n.labels]), [['n-a', {}], ['n-b', reg('n-b').labels]]);
  });

  test('nodes: a draining node stays draining when it registers again; a lost one becomes ready', async (t) => {
    const { store } = await fresh(t);
    await store.registerNode(reg('n-a'), T0);
    await store.registerNode(reg('n-b'), T0);
    assert.equal((await store.setNodeState('n-a', 'draining'))?.state, 'draining');
    assert.equal((await store.setNodeState('n-b', 'lost'))?.state, 'lost');
    assert.equal((await store.registerNode(reg('n-a'), T1)).state, 'draining');
    assert.equal((await store.registerNode(reg('n-b'), T1)).state, 'ready');
  });

  test('nodes: heartbeat writes the time (and capacity); a lost or unknown node gets null', async (t) => {
    const { store } = await fresh(t);
    await store.registerNode(reg('n-a'), T0);
    assert.equal((await store.heartbeatNode('n-a', T1))?.heartbeat_at, T1);
    const cap = { cpus: 3, memory_mb: 4096, disk_mb: 10_000, max_workspaces: 5 };
    assert.deepEqual((await store.heartbeatNode('n-a', T2, cap))?.capacity, cap);
    assert.equal(await store.heartbeatNode('n-missing', T2), null);
    await store.setNodeState('n-a', 'lost');
    assert.equal(await store.heartbeatNode('n-a', T2), null);
    assert.equal((await store.getNode('n-a'))?.state, 'lost');
  });

  test('nodes: setNodeState with onlyFrom changes only from those states; unknown → null', async (t) => {
    const { store } = await fresh(t);
    await store.registerNode(reg('n-a'), T0);
    await store.setNodeState('n-a', 'lost');
    assert.equal((await store.setNodeState('n-a', 'draining', ['ready']))?.state, 'lost');
    assert.equal((await store.setNodeState('n-a', 'ready', ['lost']))?.state, 'ready');
    assert.equal(await store.setNodeState('n-missing', 'draining'), null);
  });

  test('nodes: markNodesLost marks ready and draining nodes with a stale heartbeat, once', async (t) => {
    const { store } = await fresh(t);
    await store.registerNode(reg('n-c'), T0);
    await store.registerNode(reg('n-a'), T0);
    await store.registerNode(reg('n-b'), T2);
    await store.setNodeState('n-a', 'draining');
    assert.deepEqual(await store.markNodesLost(T1), ['n-a', 'n-c']);
    assert.deepEqual(await store.markNodesLost(T1), []);
    assert.deepEqual((await store.listNodes()).map((n) => n.state), ['lost', 'ready', 'lost']);
  });

  test('nodes: allocations sum each node\'s workspaces but archived ones; local workspaces are not counted', async (t) => {
    const { store } = await fresh(t);
    const cfg = (cpus: number, memory_mb: number, disk_size_mb: number) => ({ ...sampleWorkspace().config, cpus, memory_mb, disk_size_mb });
    await store.insertWorkspaces([
      sampleWorkspace({ nodeId: 'n-a', config: cfg(2, 1024, 4096) }),
      sampleWorkspace({ nodeId: 'n-a', config: cfg(0.5, 512, 1024), state: 'stopped' }),
      sampleWorkspace({ nodeId: 'n-a', config: cfg(8, 8192, 8192), state: 'archived' }),
      sampleWorkspace({ nodeId: 'n-b', config: cfg(1, 256, 512), state: 'creating' }),
      sampleWorkspace({ nodeId: null, config: cfg(4, 4096, 4096) }),
    ]);
    assert.deepEqual(await store.nodeAllocations(), [
      { node_id: 'n-a', cpus: 2.5, memory_mb: 1536, disk_mb: 5120, workspaces: 2 },
      { node_id: 'n-b', cpus: 1, memory_mb: 256, disk_mb: 512, workspaces: 1 },
    ]);
    const ws = sampleWorkspace({ nodeId: 'n-z' });
    await store.insertWorkspace(ws);
    assert.equal((await store.getWorkspace(ws.id))?.nodeId, 'n-z');
    const moved = await store.updateWorkspace({ ...ws, nodeId: null });
    assert.equal(moved.nodeId, null);
  });

  test('nodes: persist across reopen', async (t) => {
    const h = await fresh(t);
    await h.store.registerNode(reg('n-a'), T0);
    await h.store.close();
    const again = await h.reopen();
    assert.equal((await again.getNode('n-a'))?.registered_at, T0);
  });
}
