import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EntryLog } from './entry-log.js';

function tmp(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'wtest-entrylog-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const line = (i: number) => `line-${String(i).padStart(5, '0')}\n`;

test('one entry per read of whole lines; tail cuts the oldest entry to exactly N lines', (t) => {
  const path = join(tmp(t), 'x.log');
  const log = new EntryLog(path, 1024 * 1024);
  // Reads of 7 lines each; the last line of each read is split across two reads.
  let text = '';
  for (let i = 0; i < 70; i++) text += line(i);
  for (let off = 0; off < text.length; off += 7 * 11 + 3) log.write('stdout', Buffer.from(text.slice(off, off + 7 * 11 + 3)));
  log.close();
  const stored = readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { d: string });
  assert.ok(stored.length < 15, `${stored.length} entries`);
  assert.equal(stored.map((e) => e.d).join(''), text);
  for (const n of [1, 3, 7, 8, 20, 70]) {
    const tail = log.tail(n);
    assert.equal(tail.map((e) => e.d).join(''), text.split('\n').slice(-n - 1).join('\n'), `tail ${n}`);
  }
  assert.equal(log.tail(500).map((e) => e.d).join(''), text);
  assert.deepEqual(log.tail(0), []);
});

test('tail spans the rotated generation, in order, ending with the newest line', (t) => {
  const path = join(tmp(t), 'x.log');
  const log = new EntryLog(path, 8192); // generations of 4 KiB
  let text = '';
  for (let i = 0; i < 2000; i++) {
    text += line(i);
    if (i % 5 === 4) {
      log.write('stderr', Buffer.from(text.slice(-5 * 11)));
    }
  }
  log.close();
  const spans = log.spans();
  assert.equal(spans.length, 2);
  const current = readFileSync(path, 'utf8').trim().split('\n').length; // entries of 5 lines in the current file
  const n = current * 5 + 12; // 12 lines reach back into `.1`
  const tail = log.tail(n);
  assert.equal(tail[0]!.s, 'stderr');
  assert.equal(tail.map((e) => e.d).join(''), text.split('\n').slice(-n - 1).join('\n'));
  assert.equal(tail[0]!.d.split('\n').length - 1, 2, 'the oldest entry is cut to the lines asked for');
});
