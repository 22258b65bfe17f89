import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sampleWorkspace } from '../store/contract-fixtures.js';
import type { SshRecord } from '../store/store.js';
import { agentConfigOf, connectionOf, randomPassword } from './ssh.js';

const row: SshRecord = {
  workspace_id: 'ws_1', ssh_id: '0123456789abcdef', password_hash: '$6$s$h', password_changed: false, key_only: false,
  authorized_keys: ['ssh-ed25519 AAAA me'], host_key: 'PRIVATE', host_key_public: 'ssh-ed25519 BBBB',
  created_at: '2026-01-01T00:00:00.000Z', updated_at: '2026-01-01T00:00:00.000Z',
};

test('the connection block: the command starts with ssh and jumps through the bastion', () => {
  const c = connectionOf('0123456789abcdef', 'warren.example:2222');
  assert.deepEqual({ user: c.user, host: c.host, bastion: c.bastion }, { user: 'root', host: '0123456789abcdef', bastion: 'warren.example:2222' });
  assert.equal(c.command, 'ssh root@0123456789abcdef -J root@warren.example:2222');
  assert.equal(c.command.split(/\s+/)[0], 'ssh', 'the CLI runs nothing else');
  assert.match(c.scp_upload, /^scp -o "ProxyJump root@warren\.example:2222" /);
});

test('what the agent is told: nothing when off; the address, hash and keys when on; no hash when key-only', () => {
  const rec = sampleWorkspace({ ip: '10.213.0.9' });
  assert.deepEqual(agentConfigOf({ ...rec, config: { ...rec.config, ssh_access: false } }, row), { enabled: false });
  const on = { ...rec, config: { ...rec.config, ssh_access: true } };
  assert.deepEqual(agentConfigOf(on, null), { enabled: false });
  assert.deepEqual(agentConfigOf(on, row), {
    enabled: true, listen: '10.213.0.9', password_hash: '$6$s$h', password_auth: true,
    authorized_keys: ['ssh-ed25519 AAAA me'], host_keys: ['PRIVATE'],
  });
  const keyOnly = agentConfigOf(on, { ...row, key_only: true });
  assert.equal(keyOnly.password_hash, null);
  assert.equal(keyOnly.password_auth, false);
});

test('generated passwords: 20 characters of an unambiguous alphabet, never repeated', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) {
    const p = randomPassword();
    assert.match(p, /^[A-HJ-NP-Za-km-z2-9]{20}$/);
    seen.add(p);
  }
  assert.equal(seen.size, 200);
});
