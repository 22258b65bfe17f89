/**
 * Store contract, state every replica must share (issue 16): a raw runtime token found by
 * its hash (one indexed query, the column derived on every write), and settings created
 * once by the first of racing writers. Registered by runStoreContract inside its describe
 * block, against the same fresh stores.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { StoreHandle } from './contract-fixtures.js';
import { minimalWorkspace, sampleWorkspace } from './contract-fixtures.js';
import { runtimeTokenHash } from './token-hash.js';

export function sharedStateContractTests(fresh: (t: TestContext) => Promise<StoreHandle>): void {
  test('token hash: an enabled workspace is found by the hash of its raw token, after insert, update and reopen', async (t) => {
    const h = await fresh(t);
    const rec = sampleWorkspace({ apiAccess: { enabled: true, rawToken: 'a1'.repeat(32), generation: 1 } });
    const other = minimalWorkspace({ apiAccess: { enabled: true, rawToken: 'b2'.repeat(32), generation: 1 } });
    await h.store.insertWorkspaces([rec, other]);
    assert.deepEqual(await h.store.findWorkspaceByTokenHash(runtimeTokenHash('a1'.repeat(32))), rec);
    assert.equal((await h.store.findWorkspaceByTokenHash(runtimeTokenHash('b2'.repeat(32))))?.id, other.id);
    assert.equal(await h.store.findWorkspaceByTokenHash(runtimeTokenHash('c3'.repeat(32))), null);
    assert.equal(await h.store.findWorkspaceByTokenHash('a1'.repeat(32)), null, 'the raw token itself is not a key');

    // Rotate: the new token resolves, the old one no longer does.
    const rotated = await h.store.updateWorkspace({ ...rec, apiAccess: { enabled: true, rawToken: 'd4'.repeat(32), generation: 2 } }, rec.version);
    assert.equal(await h.store.findWorkspaceByTokenHash(runtimeTokenHash('a1'.repeat(32))), null);
    assert.equal((await h.store.findWorkspaceByTokenHash(runtimeTokenHash('d4'.repeat(32))))?.id, rec.id);

    // Disable keeps a raw token on the record but takes it out of the lookup.
    await h.store.updateWorkspace({ ...rotated, apiAccess: { enabled: false, rawToken: 'e5'.repeat(32), generation: 3 } }, rotated.version);
    assert.equal(await h.store.findWorkspaceByTokenHash(runtimeTokenHash('d4'.repeat(32))), null);
    assert.equal(await h.store.findWorkspaceByTokenHash(runtimeTokenHash('e5'.repeat(32))), null);

    await h.store.close();
    const again = await h.reopen();
    assert.equal((await again.findWorkspaceByTokenHash(runtimeTokenHash('b2'.repeat(32))))?.id, other.id);
    await again.deleteWorkspace(other.id);
    assert.equal(await again.findWorkspaceByTokenHash(runtimeTokenHash('b2'.repeat(32))), null);
  });

  test('settings: setSettingIfAbsent stores once; racing writers all get the first value', async (t) => {
    const { store } = await fresh(t);
    assert.equal(await store.setSettingIfAbsent('secret.a', 'first'), 'first');
    assert.equal(await store.setSettingIfAbsent('secret.a', 'second'), 'first');
    assert.equal(await store.getSetting('secret.a'), 'first');
    const raced = await Promise.all(['x', 'y', 'z', 'w'].map((v) => store.setSettingIfAbsent('secret.b', v)));
    assert.equal(new Set(raced).size, 1, 'every writer got the one stored value');
    assert.equal(await store.getSetting('secret.b'), raced[0]);
    await store.setSetting('secret.b', 'replaced');
    assert.equal(await store.setSettingIfAbsent('secret.b', 'ignored'), 'replaced');
  });
}
