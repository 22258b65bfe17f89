import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NonceCache } from './nonce-cache.js';

test('a nonce is claimed once', () => {
  const c = new NonceCache();
  assert.equal(c.claim('a', Date.now() + 1000), true);
  assert.equal(c.claim('a', Date.now() + 1000), false);
  assert.equal(c.claim('b', Date.now() + 1000), true);
});

test('expired nonces are pruned when full; live ones still block', () => {
  let t = 0;
  const c = new NonceCache(2, () => t);
  assert.equal(c.claim('a', 10), true);
  assert.equal(c.claim('b', 20), true);
  assert.equal(c.claim('c', 30), false); // full, nothing expired
  t = 15;
  assert.equal(c.claim('c', 30), true); // 'a' pruned
  assert.equal(c.claim('b', 40), false);
  assert.equal(c.size, 2);
});
