import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Flags } from './load.js';
import { loadSshConfig } from './ssh.js';

const pickFrom = (env: Record<string, string>) => (flags: Flags, flag: string, name: string) =>
  (typeof flags[flag] === 'string' ? (flags[flag] as string) : env[name]);

test('defaults: port 2222 on the API\'s host, clients told the public URL\'s host', () => {
  assert.deepEqual(loadSshConfig({}, pickFrom({}), '127.0.0.1', undefined),
    { port: 2222, host: '127.0.0.1', publicHost: '127.0.0.1', maxPerSource: 32, handshakeTimeoutMs: 10_000 });
  assert.equal(loadSshConfig({}, pickFrom({}), '0.0.0.0', undefined).publicHost, '127.0.0.1');
  assert.equal(loadSshConfig({}, pickFrom({}), '0.0.0.0', 'https://warren.example.org').publicHost, 'warren.example.org');
});

test('flags over environment; 0 turns the jump host off; bad values stop start-up', () => {
  const env = { WARREN_SSH_PORT: '2200', WARREN_SSH_HOST: '0.0.0.0', WARREN_SSH_PUBLIC_HOST: 'ssh.example.org' };
  assert.deepEqual(loadSshConfig({ 'ssh-port': '0' }, pickFrom(env), '127.0.0.1', undefined),
    { port: 0, host: '0.0.0.0', publicHost: 'ssh.example.org', maxPerSource: 32, handshakeTimeoutMs: 10_000 });
  assert.equal(loadSshConfig({}, pickFrom(env), '127.0.0.1', undefined).port, 2200);
  assert.throws(() => loadSshConfig({ 'ssh-port': '70000' }, pickFrom({}), '127.0.0.1', undefined), /WARREN_SSH_PORT/);
  assert.throws(() => loadSshConfig({ 'ssh-public-host': 'a b' }, pickFrom({}), '127.0.0.1', undefined), /not a host name/);
});
