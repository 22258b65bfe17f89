import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RateLimiter } from './rate-limit.js';

test('a bucket allows its burst, then refills at its rate and says when', () => {
  let now = 0;
  const rl = new RateLimiter({ rate: 2, burst: 3 }, () => now);
  assert.deepEqual([1, 2, 3].map(() => rl.take('k').ok), [true, true, true]);
  const refused = rl.take('k');
  assert.equal(refused.ok, false);
  assert.equal(!refused.ok && refused.retryAfterS, 1);
  now += 500; // one token back at 2/s
  assert.equal(rl.take('k').ok, true);
  assert.equal(rl.take('k').ok, false);
  assert.equal(rl.take('other').ok, true, 'keys are independent');
  now += 10_000;
  assert.equal(rl.peek('k'), 3, 'never above the burst');
});

test('rate 0 disables; the number of keys is bounded', () => {
  const off = new RateLimiter({ rate: 0, burst: 0 });
  for (let i = 0; i < 1000; i++) assert.equal(off.take('k').ok, true);
  let now = 0;
  const rl = new RateLimiter({ rate: 1, burst: 1 }, () => now, 10);
  for (let i = 0; i < 100; i++) rl.take(`k${i}`);
  assert.equal(rl.take('k0').ok, true, 'the oldest keys were dropped (full again)');
  assert.equal(rl.take('k99').ok, false, 'the newest are kept');
  now += 1000;
  assert.equal(rl.waitFor('k99'), 0);
});
