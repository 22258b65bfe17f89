import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KeyedLock } from './locks.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('runWithin gives up after its bound and the queue goes on in order', async () => {
  const lock = new KeyedLock();
  const order: string[] = [];
  const slow = lock.run('w', async () => { await sleep(200); order.push('slow'); });
  const started = Date.now();
  await assert.rejects(lock.runWithin('w', 50, () => new Error('busy'), async () => { order.push('never'); }), /busy/);
  assert.ok(Date.now() - started < 150, 'the bounded wait ended at its bound');
  const after = lock.run('w', async () => { order.push('after'); });
  await Promise.all([slow, after]);
  assert.deepEqual(order, ['slow', 'after']);
});

test('runWithin runs at once on a free key and holds the lock while it runs', async () => {
  const lock = new KeyedLock();
  const order: string[] = [];
  const first = lock.runWithin('w', 50, () => new Error('busy'), async () => { await sleep(100); order.push('first'); });
  const second = lock.run('w', async () => { order.push('second'); });
  await Promise.all([first, second]);
  assert.deepEqual(order, ['first', 'second']);
});

test('a rejected operation releases the lock', async () => {
  const lock = new KeyedLock();
  await assert.rejects(lock.run('w', async () => { throw new Error('x'); }));
  assert.equal(await lock.runWithin('w', 10, () => new Error('busy'), async () => 7), 7);
});
