import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setWorkspaceHostname, workspaceEnv } from './process.js';

test('workspaceEnv: no WARREN_ variables, config then request values win, and a new hostname reaches later processes', () => {
  process.env.WARREN_SECRET_FOR_TEST = 'hidden';
  setWorkspaceHostname('before');
  const first = workspaceEnv({ A: 'config', B: 'config' }, { B: 'request' });
  assert.equal(first.WARREN_SECRET_FOR_TEST, undefined);
  assert.deepEqual([first.A, first.B, first.HOSTNAME], ['config', 'request', 'before']);
  assert.ok(first.PATH && first.HOME);
  // a warm-pool agent computed its env before the claim named it
  setWorkspaceHostname('after-claim');
  assert.equal(workspaceEnv({}).HOSTNAME, 'after-claim');
  assert.equal(workspaceEnv({ HOSTNAME: 'from-config' }).HOSTNAME, 'from-config');
});
