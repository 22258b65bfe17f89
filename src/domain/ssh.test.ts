import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sampleWorkspace } from '../store/contract-fixtures.js';
import { openStore } from '../store/open.js';
import type { SshRecord } from '../store/store.js';
import { agentConfigOf, connectionOf, randomPassword, SshService, type SshDeps } from './ssh.js';
import { hostFiles } from '../host/files.js';

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

test('a stored host key sshd cannot load is replaced at the next boot; a good one is kept', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'warren-ssh-'));
  const store = await openStore({ dataDir: dir });
  t.after(async () => { await store.close(); rmSync(dir, { recursive: true, force: true }); });
  const rec = sampleWorkspace({ ip: '10.213.0.9' });
  await store.insertWorkspaces([rec]);
  const on = { ...rec, config: { ...rec.config, ssh_access: true } };
  await store.putSsh({ ...row, workspace_id: rec.id, host_key: 'TRUNCATED', host_key_public: 'ssh-ed25519 OLD' });
  let made = 0;
  const service = new SshService({
    store, files: hostFiles, generateHostKey: () => ({ private: `GOOD${++made}`, public: `ssh-ed25519 NEW${made}` }),
    hostKeyUsable: (k) => k.startsWith('GOOD'),
  } as unknown as SshDeps);

  await service.writeBootFile(on, dir);
  const stored = await store.getSsh(rec.id);
  assert.deepEqual([stored?.host_key, stored?.host_key_public, stored?.ssh_id], ['GOOD1', 'ssh-ed25519 NEW1', row.ssh_id]);
  assert.deepEqual(JSON.parse(readFileSync(join(dir, 'ssh.json'), 'utf8')).host_keys, ['GOOD1']);

  await service.writeBootFile(on, dir);
  assert.equal((await store.getSsh(rec.id))?.host_key, 'GOOD1');
  assert.equal(made, 1);
});

test('on a control replica the node tells the agent: no agent call here; the node applies what the store holds', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'warren-ssh-'));
  const store = await openStore({ dataDir: dir });
  t.after(async () => { await store.close(); rmSync(dir, { recursive: true, force: true }); });
  const rec = { ...sampleWorkspace({ ip: '10.213.0.9' }), state: 'running' as const };
  await store.insertWorkspaces([{ ...rec, config: { ...rec.config, ssh_access: true } }]);
  const workspaces = {
    withLock: <T>(_id: string, fn: () => Promise<T>) => fn(),
    get: async (id: string) => (await store.getWorkspace(id))!,
  };
  const deps = { store, workspaces, files: hostFiles, target: (r: { ip: string }) => ({ ip: r.ip, port: 9990, controlDir: dir }),
    generateHostKey: () => ({ private: 'GOOD', public: 'ssh-ed25519 K' }), bastion: () => '127.0.0.1:2222', supported: () => true, disconnect: () => {} };
  const agentCalls: unknown[][] = [];
  const agent = {
    call: async (...args: unknown[]) => {
      agentCalls.push(args);
      return { ssh: { running: true } };
    },
  };
  const toNode: string[] = [];
  const replica = new SshService({ ...deps, agent: { call: async () => assert.fail('a replica never calls an agent') },
    applyOnNode: async (r) => { toNode.push(r.id); } } as unknown as SshDeps);
  const node = new SshService({ ...deps, agent } as unknown as SshDeps);

  const st = await replica.setKey(rec.id, { publicKey: 'ssh-ed25519 AAAA me' } as never);
  assert.equal(st.ssh_key_set, true);
  assert.deepEqual(toNode, [rec.id], 'the node was asked once');
  await node.apply(rec.id);
  assert.equal(agentCalls.length, 1);
  const [target, method, path, doc] = agentCalls[0] as [any, string, string, any];
  assert.deepEqual([target.ip, method, path], ['10.213.0.9', 'PUT', '/_warren/ssh']);
  assert.deepEqual([doc.enabled, doc.authorized_keys, doc.password_auth], [true, ['ssh-ed25519 AAAA me'], false], 'what the store holds');

  agent.call = async () => ({ ssh: { running: false } }) as never;
  await assert.rejects(node.apply(rec.id), (err: any) => err.code === 'ssh_unavailable');
});
