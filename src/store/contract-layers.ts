/**
 * Store contract, snapshots and archives (control-plane.md §10): registered by
 * runStoreContract inside its describe block, against the same fresh stores.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '../contract/errors.js';
import type { ArchiveRecord, SnapshotRecord } from './store.js';
import { sampleWorkspace, type StoreHandle } from './contract-fixtures.js';

function snapshot(id: string, over: Partial<SnapshotRecord> = {}): SnapshotRecord {
  return {
    id, workspace_id: 'ws_x', short_id: 'abcd0123', purpose: 'snapshot', state: 'pending', bytes: 0,
    copy_on_write: true, frozen_ms: 1.5, created_at: `2026-01-01T00:00:0${id.length % 10}.000Z`, ...over,
  };
}

function archive(workspaceId: string, version: string, over: Partial<ArchiveRecord> = {}): ArchiveRecord {
  return {
    workspace_id: workspaceId, version, state: 'writing', format: 'tar.zst', kind: 'files',
    vm_paths: ['/srv/app', '/ünï'], exclude_vm_paths: ['/srv/app/cache'], size_bytes: 0, sha256: null,
    file: `${version}.tar.zst`, created_at: '2026-01-01T00:00:00.000Z', completed_at: null, ...over,
  };
}

export function layerContractTests(fresh: (t: TestContext) => Promise<StoreHandle>): void {
  test('snapshots: put, replace, get, filter oldest first, delete', async (t) => {
    const { store } = await fresh(t);
    await store.putSnapshot(snapshot('s1'));
    await store.putSnapshot(snapshot('s22', { purpose: 'fork', workspace_id: 'ws_y' }));
    const ready = snapshot('s1', { state: 'ready', bytes: 4096, copy_on_write: false });
    await store.putSnapshot(ready);
    assert.deepEqual(await store.getSnapshot('s1'), ready);
    assert.deepEqual((await store.listSnapshots({})).map((s) => s.id), ['s1', 's22']);
    assert.deepEqual((await store.listSnapshots({ workspaceId: 'ws_x', state: 'ready' })).map((s) => s.id), ['s1']);
    assert.deepEqual((await store.listSnapshots({ purpose: 'fork' })).map((s) => s.id), ['s22']);
    await store.deleteSnapshot('s1');
    await store.deleteSnapshot('s1');
    assert.equal(await store.getSnapshot('s1'), null);
  });

  test('archives: put, replace, list, delete; they go with their workspace', async (t) => {
    const { store } = await fresh(t);
    const ws = sampleWorkspace();
    await store.insertWorkspace(ws);
    await store.putArchive(archive(ws.id, 'v1'));
    const done = archive(ws.id, 'v1', { state: 'ready', size_bytes: 10, sha256: 'ab'.repeat(32), completed_at: '2026-01-01T00:00:09.000Z' });
    await store.putArchive(done);
    await store.putArchive(archive(ws.id, 'v2', { created_at: '2026-01-02T00:00:00.000Z' }));
    assert.deepEqual(await store.getArchive(ws.id, 'v1'), done);
    assert.deepEqual((await store.listArchives(ws.id)).map((a) => a.version), ['v1', 'v2']);
    assert.equal((await store.allArchives()).length, 2);
    assert.equal(await store.deleteArchive(ws.id, 'v2'), true);
    assert.equal(await store.deleteArchive(ws.id, 'v2'), false);
    await assert.rejects(store.putArchive(archive('ws_missing', 'v1')),
      (err: unknown) => err instanceof AppError && err.code === 'not_found');
    await store.deleteWorkspace(ws.id);
    assert.deepEqual(await store.allArchives(), []);
  });
}
