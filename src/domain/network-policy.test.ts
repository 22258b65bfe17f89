import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sampleWorkspace } from '../store/contract-fixtures.js';
import { openStore } from '../store/open.js';
import { NetworkPolicies, type NetworkPoliciesDeps } from './network-policy.js';
import type { WorkspaceService } from './workspaces.js';

test('a private link to a workspace on another node is refused with 409 cross_node_link; one on the same node is kept', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'warren-netpol-'));
  const store = await openStore({ dataDir: dir });
  t.after(async () => { await store.close(); rmSync(dir, { recursive: true, force: true }); });
  const [a, b, c] = [
    sampleWorkspace({ nodeId: 'n1', ip: '10.1.0.2' }), sampleWorkspace({ nodeId: 'n1', ip: '10.1.0.3' }), sampleWorkspace({ nodeId: 'n2', ip: '10.2.0.2' }),
  ];
  await store.insertWorkspaces([a!, b!, c!]);
  let syncs = 0;
  const workspaces = {
    get: async (id: string) => (await store.getWorkspace(id))!,
    withLock: <T>(_id: string, fn: () => Promise<T>) => fn(),
  } as unknown as WorkspaceService;
  const policies = new NetworkPolicies({
    store, workspaces, sync: { sync: async () => { syncs++; } }, imageLook: () => ({ logo: null, color: null }),
    pool: [], hasUpstream: false, hostHasAddress: async () => false, log: () => {},
  } as NetworkPoliciesDeps);

  const same = await policies.update(a!.id, { private_link_ids: [b!.id, 'ws_nope'] }, false);
  assert.deepEqual(same.network.private_link_ids, [b!.id], 'same node: kept (unknown ids dropped as before)');
  await assert.rejects(policies.update(a!.id, { private_link_ids: [b!.id, c!.id] }, false), (err: any) =>
    err.code === 'cross_node_link' && err.status === 409 && err.details?.field === 'private_link_ids' && err.details?.workspace_id === c!.id);
  assert.deepEqual((await store.getWorkspace(a!.id))!.network.private_link_ids, [b!.id], 'nothing stored by the refused change');
  assert.equal(syncs, 1);
});
