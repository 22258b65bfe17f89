import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BODY_LIMITS } from '../config/limits.js';
import { runtimeBodyLimit } from './body-limits.js';

test('runtimeBodyLimit: uploads and writes get their own caps, every other call the JSON cap', () => {
  assert.equal(runtimeBodyLimit('/files/write'), BODY_LIMITS.fileWrite);
  assert.equal(runtimeBodyLimit('/runtimes/node/files/write/'), BODY_LIMITS.fileWrite);
  assert.equal(runtimeBodyLimit('/files/transfer/upload'), BODY_LIMITS.tarUpload);
  assert.equal(runtimeBodyLimit('/proxy/3000/api'), BODY_LIMITS.proxy);
  for (const p of ['/exec', '/exec/stream', '/exec/abc/input', '/terminals', '/files/mkdir', '/files/write2', '/proxyx']) {
    assert.equal(runtimeBodyLimit(p), BODY_LIMITS.runtimeJson, p);
  }
  // 64 MiB of content, even fully escaped as \uXXXX, still fits a file write
  assert.ok(BODY_LIMITS.fileWrite >= 64 * 1024 * 1024 * 6);
});
