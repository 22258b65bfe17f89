import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allowedPort } from './relay-server.js';

// The relay over real sockets and namespaces: test/node/relay.test.ts.
test('each purpose opens only its port', () => {
  assert.equal(allowedPort('agent', 9990), true);
  assert.equal(allowedPort('agent', 22), false);
  assert.equal(allowedPort('ssh', 22), true);
  assert.equal(allowedPort('ssh', 9990), false);
  assert.equal(allowedPort('edge', 3000), true);
  assert.equal(allowedPort('edge', 0), false);
  assert.equal(allowedPort('edge', 65536), false);
  assert.equal(allowedPort('api', 9990), false);
});
