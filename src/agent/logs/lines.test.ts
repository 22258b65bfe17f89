import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { ChunkSplitter, countLines, lastLinesOf } from './lines.js';

function collect(opts = {}) {
  const chunks: string[] = [];
  const s = new ChunkSplitter((batch) => {
    assert.ok(batch.length > 0);
    assert.ok(batch.every((c) => c.length > 0));
    chunks.push(...batch);
  }, opts);
  return { s, chunks };
}

test('one chunk per read of complete lines, newlines kept; a partial line waits for its newline', () => {
  const { s, chunks } = collect();
  s.push(Buffer.from('a\nb\r\nc'));
  assert.deepEqual(chunks, ['a\nb\r\n']);
  s.push(Buffer.from('d\n\n'));
  assert.deepEqual(chunks, ['a\nb\r\n', 'cd\n\n']);
  s.push(Buffer.from('tail'));
  s.end();
  assert.deepEqual(chunks, ['a\nb\r\n', 'cd\n\n', 'tail']);
  assert.equal(chunks.join(''), 'a\nb\r\ncd\n\ntail');
});

test('reassembles UTF-8 split across chunks', () => {
  const { s, chunks } = collect();
  const bytes = Buffer.from('héllo €\n');
  for (const b of bytes) s.push(Buffer.from([b]));
  assert.deepEqual(chunks, ['héllo €\n']);
});

test('a partial line is flushed after the timeout, without a newline', async () => {
  const { s, chunks } = collect({ flushMs: 30 });
  s.push(Buffer.from('prompt> '));
  assert.deepEqual(chunks, []);
  await sleep(80);
  assert.deepEqual(chunks, ['prompt> ']);
  s.push(Buffer.from('rest\n'));
  assert.deepEqual(chunks, ['prompt> ', 'rest\n']);
});

test('chunks are capped, cut after a newline when one is in reach, else at the limit', () => {
  const { s, chunks } = collect({ maxChunkChars: 8 });
  s.push(Buffer.from('ab\ncd\nef\ngh\n'));
  assert.deepEqual(chunks, ['ab\ncd\n', 'ef\ngh\n']);
  chunks.length = 0;
  s.push(Buffer.from('0123456789abcdefghij'));
  assert.deepEqual(chunks, ['01234567', '89abcdef']);
  s.push(Buffer.from('\nxyzw\n'));
  assert.deepEqual(chunks, ['01234567', '89abcdef', 'ghij\n', 'xyzw\n']);
  assert.ok(chunks.every((c) => c.length <= 8));
});

test('line counting and cutting a chunk to its last lines', () => {
  assert.equal(countLines('a\nb\n'), 2);
  assert.equal(countLines('a\nb'), 2);
  assert.equal(countLines('\n'), 1);
  assert.equal(countLines(''), 0);
  assert.equal(lastLinesOf('a\nb\nc\n', 2), 'b\nc\n');
  assert.equal(lastLinesOf('a\nb\nc', 2), 'b\nc');
  assert.equal(lastLinesOf('a\nb\nc\n', 1), 'c\n');
  assert.equal(lastLinesOf('a\nb\n', 5), 'a\nb\n');
  assert.equal(lastLinesOf('\n\n', 1), '\n');
});
