import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sweepBatch } from './reconciler.js';

test('a sweep of few workspaces checks every one each tick', () => {
  assert.deepEqual(sweepBatch(['c', 'a', 'b'], null, 5), ['a', 'b', 'c']);
  assert.deepEqual(sweepBatch(['c', 'a', 'b'], 'b', 3), ['a', 'b', 'c']);
});

test('a sweep of many goes round robin in batches and covers every workspace', () => {
  const ids = Array.from({ length: 10 }, (_, i) => `w${i}`);
  const seen: string[] = [];
  let after: string | null = null;
  for (let tick = 0; tick < 4; tick++) {
    const batch = sweepBatch(ids, after, 3);
    assert.equal(batch.length, 3);
    seen.push(...batch);
    after = batch.at(-1)!;
  }
  assert.deepEqual(seen.slice(0, 10).sort(), [...ids].sort()); // one full pass in ⌈10/3⌉ ticks
  assert.deepEqual(seen.slice(9, 12), ['w9', 'w0', 'w1']); // and it wraps around
});

test('a cursor whose workspace is gone resumes at the next one', () => {
  assert.deepEqual(sweepBatch(['a', 'c', 'e', 'g'], 'd', 2), ['e', 'g']);
  assert.deepEqual(sweepBatch(['a', 'c', 'e', 'g'], 'z', 2), ['a', 'c']);
});
