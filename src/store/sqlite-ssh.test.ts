import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppError } from '../contract/errors.js';
import { sampleWorkspace } from './contract-fixtures.js';
import { SqliteStore } from './sqlite.js';
import type { SshRecord } from './ssh-records.js';

function row(workspaceId: string, sshId: string, over: Partial<SshRecord> = {}): SshRecord {
  return {
    workspace_id: workspaceId, ssh_id: sshId, password_hash: null, password_changed: false, key_only: false,
    authorized_keys: [], host_key: '-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----\n',
    host_key_public: 'ssh-ed25519 AAAA', created_at: '2026-01-01T00:00:00.000Z', updated_at: '2026-01-01T00:00:00.000Z',
    ...over,
  };
}

test('workspace_ssh: put, get, find by ssh_id, unique ssh_id, survives reopen, goes with its workspace', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'warren-store-ssh-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  let store = new SqliteStore(dir);
  await store.migrate();
  const a = sampleWorkspace();
  const b = sampleWorkspace();
  await store.insertWorkspace(a);
  await store.insertWorkspace(b);

  await store.putSsh(row(a.id, '0123456789abcdef', { authorized_keys: ['ssh-ed25519 AAAA me'], key_only: true }));
  await assert.rejects(store.putSsh(row(b.id, '0123456789abcdef')),
    (e: unknown) => e instanceof AppError && e.code === 'conflict' && e.details?.field === 'ssh_id');
  await assert.rejects(store.putSsh(row('ws_missing', 'fedcba9876543210')),
    (e: unknown) => e instanceof AppError && e.code === 'not_found');
  const changed = row(a.id, '0123456789abcdef', { password_hash: '$6$x$y', password_changed: true, updated_at: '2026-02-01T00:00:00.000Z' });
  await store.putSsh(changed);

  await store.close();
  store = new SqliteStore(dir);
  await store.migrate();
  assert.deepEqual(await store.getSsh(a.id), changed);
  assert.deepEqual(await store.findSshById('0123456789abcdef'), changed);
  assert.equal(await store.getSsh(b.id), null);
  await store.deleteWorkspace(a.id);
  assert.equal(await store.findSshById('0123456789abcdef'), null, 'the row went with its workspace');
  await store.close();
});
