/** The step output's line splitting and end marker (pure). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OutputLines } from './build-steps.js';

function run(chunks: string[]): { lines: string[]; code: number | null; done: boolean } {
  const lines: string[] = [];
  const out = new OutputLines('abc123', (l) => lines.push(l));
  let done = false;
  for (const c of chunks) done = out.feed(c);
  if (!done) out.flush();
  return { lines, code: out.exitCode, done };
}

test('lines split across chunks; the marker ends the output with its code', () => {
  assert.deepEqual(run(['hel', 'lo\nwor', 'ld\n', '\nabc123 0\n']), { lines: ['hello', 'world'], code: 0, done: true });
});

test('a last line without a newline, and output with no newline before the marker', () => {
  assert.deepEqual(run(['partial', '\nabc123 7\n']), { lines: ['partial'], code: 7, done: true });
  assert.deepEqual(run(['\nabc123 0\n']), { lines: [], code: 0, done: true });
});

test('empty lines inside the output are kept; only the wrapper\'s newline before the marker goes', () => {
  assert.deepEqual(run(['a\n\nb\n', '\nabc123 1\n']), { lines: ['a', '', 'b'], code: 1, done: true });
});

test('a line that only looks like the marker (other nonce) is output; without a marker the rest is flushed', () => {
  assert.deepEqual(run(['ffff 0\nabc123 x\ntail']), { lines: ['ffff 0', 'abc123 x', 'tail'], code: null, done: false });
});
