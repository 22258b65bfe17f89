import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RingBuffer } from './ring-buffer.js';

test('keeps everything below capacity', () => {
  const r = new RingBuffer(8);
  r.write(Buffer.from('abc'));
  r.write(Buffer.from('de'));
  assert.equal(r.snapshot().toString(), 'abcde');
  assert.equal(r.snapshot(2).toString(), 'de');
});

test('wraps and keeps the newest bytes', () => {
  const r = new RingBuffer(5);
  r.write(Buffer.from('abcd'));
  r.write(Buffer.from('efg'));
  assert.equal(r.snapshot().toString(), 'cdefg');
  assert.equal(r.size, 5);
  assert.equal(r.totalWritten, 7);
  r.write(Buffer.from('0123456789'));
  assert.equal(r.snapshot().toString(), '56789');
  assert.equal(r.snapshot(3).toString(), '789');
  r.clear();
  assert.equal(r.snapshot().length, 0);
});

test('rejects a bad capacity', () => {
  assert.throws(() => new RingBuffer(0));
});
