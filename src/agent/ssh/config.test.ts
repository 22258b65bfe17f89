import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '../../contract/errors.js';
import { parseSshConfig, renderSshdConfig } from './config.js';
import { ttyGid, withRootHash, withSshdUser } from './accounts.js';

const HASH = `$6$abc$${'x'.repeat(86)}`;
const KEY = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n';
const PATHS = { bundleDir: '/.warren/ssh', runDir: '/run/warren-ssh' };
const doc = {
  enabled: true, listen: '10.213.0.5', password_hash: HASH, password_auth: true,
  authorized_keys: ['ssh-ed25519 AAAAC3Nz me@x'], host_keys: [KEY],
};

function badField(fn: () => unknown, field: string): void {
  assert.throws(fn, (e: unknown) => e instanceof AppError && e.code === 'bad_request' && e.details?.field === field);
}

test('the host document is checked field by field; disabled carries nothing', () => {
  assert.deepEqual(parseSshConfig(doc), doc);
  assert.deepEqual(parseSshConfig({ enabled: false, listen: 'whatever' }), { enabled: false });
  badField(() => parseSshConfig({ ...doc, listen: '10.0.0.1:22' }), 'listen');
  badField(() => parseSshConfig({ ...doc, listen: '0.0.0.0 \nPermitRootLogin yes' }), 'listen');
  badField(() => parseSshConfig({ ...doc, password_hash: 'plain' }), 'password_hash');
  badField(() => parseSshConfig({ ...doc, authorized_keys: ['a\nb'] }), 'authorized_keys');
  badField(() => parseSshConfig({ ...doc, host_keys: [] }), 'host_keys');
  badField(() => parseSshConfig({ ...doc, host_keys: ['not a key'] }), 'host_keys');
  badField(() => parseSshConfig({ ...doc, password_auth: 'yes' }), 'password_auth');
  badField(() => parseSshConfig({}), 'enabled');
  assert.equal(parseSshConfig({ ...doc, password_hash: null }).password_hash, null);
});

test('sshd_config: the private address on port 22 only, no PAM, bundled sftp-server, keys on the tmpfs', () => {
  const text = renderSshdConfig(doc, PATHS);
  const has = (line: string) => assert.ok(text.split('\n').includes(line), `${line}\n---\n${text}`);
  has('ListenAddress 10.213.0.5:22');
  has('HostKey /run/warren-ssh/ssh_host_key_0');
  has('UsePAM no');
  has('PasswordAuthentication yes');
  has('PermitRootLogin yes');
  has('PubkeyAuthentication yes');
  has('AuthorizedKeysFile /run/warren-ssh/authorized_keys');
  has('Subsystem sftp /.warren/ssh/sftp-server');
  has('AllowUsers root');
  assert.equal(text.split('\n').filter((l) => l.startsWith('ListenAddress')).length, 1);
  const keyOnly = renderSshdConfig({ ...doc, password_auth: false }, PATHS).split('\n');
  assert.ok(keyOnly.includes('PasswordAuthentication no'));
  assert.ok(keyOnly.includes('PermitRootLogin prohibit-password'));
});

test('accounts: an sshd user is added once, on a free system uid', () => {
  const passwd = 'root:x:0:0:root:/root:/bin/bash\n_apt:x:100:65534::/nonexistent:/usr/sbin/nologin\n';
  const next = withSshdUser(passwd);
  assert.equal(next, `${passwd}sshd:x:101:65534::/run/sshd:/usr/sbin/nologin\n`);
  assert.equal(withSshdUser(next), next);
  assert.equal(withSshdUser(''), 'sshd:x:100:65534::/run/sshd:/usr/sbin/nologin\n');
});

test('accounts: root\'s hash is set (line made if missing); a locked root is unlocked only for keys', () => {
  const now = Date.UTC(2026, 0, 2);
  const days = Math.floor(now / 86_400_000);
  const shadow = 'root:*:20000:0:99999:7:::\ndaemon:*:20000:0:99999:7:::\n';
  assert.equal(withRootHash(shadow, HASH, now), `root:${HASH}:${days}:0:99999:7:::\ndaemon:*:20000:0:99999:7:::\n`);
  assert.equal(withRootHash('daemon:*:1:0:99999:7:::\n', HASH, now), `root:${HASH}:${days}:0:99999:7:::\ndaemon:*:1:0:99999:7:::\n`);
  assert.equal(withRootHash(shadow, null, now), shadow, 'no hash: root\'s password stays');
  assert.equal(withRootHash('root:!$6$old:1:0:99999:7:::\n', null, now), 'root:*:1:0:99999:7:::\n');
  assert.equal(withRootHash('root:x\n', HASH, now), `root:${HASH}:${days}::::::\n`);
});

test('accounts: the tty group', () => {
  assert.equal(ttyGid('root:x:0:\ntty:x:5:\n'), 5);
  assert.equal(ttyGid('root:x:0:\n'), null);
});
