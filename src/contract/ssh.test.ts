import { test } from 'node:test';
import assert from 'node:assert/strict';
import ssh2 from 'ssh2';
import { AppError } from './errors.js';
import { parseSshKey, parseSshPassword } from './ssh.js';
import { generateHostKey } from '../ssh/host-key.js';

function fails(fn: () => unknown, field: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof AppError, String(err));
    assert.equal(err.code, 'validation_error');
    assert.equal(err.details?.field, field, err.message);
    return true;
  });
}

test('password: 8–128 characters, no control characters, user root only', () => {
  assert.deepEqual(parseSshPassword({ password: 'correct horse' }), { password: 'correct horse', user: 'root' });
  assert.deepEqual(parseSshPassword({ password: 'x'.repeat(128), user: 'root' }).password.length, 128);
  fails(() => parseSshPassword({ password: 'short' }), 'password');
  fails(() => parseSshPassword({ password: 'x'.repeat(129) }), 'password');
  fails(() => parseSshPassword({ password: 'line\nbreak!' }), 'password');
  fails(() => parseSshPassword({ password: 12345678 }), 'password');
  fails(() => parseSshPassword({}), 'password');
  fails(() => parseSshPassword({ password: 'long enough', user: 'oblien' }), 'user');
  fails(() => parseSshPassword('x'), 'body');
  fails(() => parseSshPassword([]), 'body');
});

test('public key: one line of a known type, written back in normal form', () => {
  const ed = generateHostKey(); // not ssh2's own: one of its ed25519 keys in 256 is truncated
  assert.equal(parseSshKey({ public_key: `  ${ed.public}  me@laptop \n` }).publicKey, `${ed.public} me@laptop`);
  assert.equal(parseSshKey({ public_key: ed.public }).publicKey, ed.public);
  const ec = ssh2.utils.generateKeyPairSync('ecdsa', { bits: 256 });
  assert.match(parseSshKey({ public_key: ec.public }).publicKey, /^ecdsa-sha2-nistp256 /);
  assert.equal(parseSshKey({ public_key: `${ed.public} caf\u00e9\u0007` }).publicKey, `${ed.public} caf`);
});

test('public key: options, private keys, several lines, garbage and other users are refused', () => {
  const ed = generateHostKey(); // not ssh2's own: one of its ed25519 keys in 256 is truncated
  fails(() => parseSshKey({ public_key: `command="sh" ${ed.public}` }), 'public_key');
  fails(() => parseSshKey({ public_key: `${ed.public}\n${ed.public}` }), 'public_key');
  fails(() => parseSshKey({ public_key: ed.private }), 'public_key');
  fails(() => parseSshKey({ public_key: 'ssh-ed25519 AAAA' }), 'public_key');
  fails(() => parseSshKey({ public_key: 'ssh-dss AAAAB3NzaC1kc3M=' }), 'public_key');
  fails(() => parseSshKey({ public_key: ed.public.replace('ssh-ed25519', 'ssh-rsa') }), 'public_key');
  fails(() => parseSshKey({ public_key: '' }), 'public_key');
  fails(() => parseSshKey({ public_key: 42 }), 'public_key');
  fails(() => parseSshKey({ public_key: ed.public, user: 'admin' }), 'user');
});
