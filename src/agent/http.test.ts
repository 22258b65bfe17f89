import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loggablePath } from './http.js';

test('loggablePath keeps the path and never the query (it can carry ?token=)', () => {
  assert.equal(loggablePath('/files/read?token=secret-token&path=/etc'), '/files/read');
  assert.equal(loggablePath('/exec'), '/exec');
  assert.equal(loggablePath(undefined), '/');
  assert.equal(loggablePath('/x?'), '/x');
  assert.equal(loggablePath(`/${'a'.repeat(2000)}?token=t`).length, 512);
});
