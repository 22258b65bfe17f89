import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hashSecret, verifySecret } from './secrets.js';

test('hashSecret produces scrypt$<16-byte salt hex>$<32-byte hash hex> with a fresh salt', async () => {
  const a = await hashSecret('s3cret');
  const b = await hashSecret('s3cret');
  assert.match(a, /^scrypt\$[0-9a-f]{32}\$[0-9a-f]{64}$/);
  assert.notEqual(a, b);
});

test('verifySecret accepts the secret and rejects others', async () => {
  const stored = await hashSecret('correct horse ✓');
  assert.equal(await verifySecret('correct horse ✓', stored), true);
  assert.equal(await verifySecret('correct horse', stored), false);
  assert.equal(await verifySecret('', stored), false);
  assert.equal(await verifySecret('', await hashSecret('')), true);
});

test('verifySecret treats malformed stored values as a mismatch', async () => {
  const stored = await hashSecret('x');
  for (const bad of ['', 'x', 'scrypt$$', stored.replace('scrypt', 'bcrypt'), stored.slice(0, -2), stored + '00', stored.toUpperCase()]) {
    assert.equal(await verifySecret('x', bad), false, bad);
  }
});
