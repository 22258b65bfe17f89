import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RotatingFile } from './rotating-file.js';
import { readEntriesFrom, tailEntries } from './tail.js';

function tmp(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'wtest-rot-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('rotation keeps both generations under the cap and tail spans them in order', (t) => {
  const dir = tmp(t);
  const path = join(dir, 'x.log');
  const f = new RotatingFile(path, 8192);
  for (let i = 0; i < 1000; i++) f.write(`line-${String(i).padStart(4, '0')}\n`);
  f.close();
  const total = statSync(path).size + statSync(`${path}.1`).size;
  assert.ok(total <= 8192, `total ${total}`);
  const lastLines = (n: number) => tailEntries(f.spans(), n).map((e) => e.d);
  const tail = lastLines(100);
  assert.equal(tail.length, 100);
  assert.deepEqual(tail, Array.from({ length: 100 }, (_, i) => `line-${String(900 + i).padStart(4, '0')}`));
  // More than the files hold: everything there is, oldest first, no gaps.
  const all = lastLines(10_000);
  const first = Number(all[0]!.slice(5));
  assert.deepEqual(all, Array.from({ length: 1000 - first }, (_, i) => `line-${String(first + i).padStart(4, '0')}`));
});

test('a planted symlink or FIFO-free directory is replaced, never followed', (t) => {
  const dir = tmp(t);
  const victim = join(dir, 'victim');
  writeFileSync(victim, 'keep');
  const path = join(dir, 'x.log');
  symlinkSync(victim, path);
  const f = new RotatingFile(path, 8192);
  f.write('hello\n');
  f.close();
  assert.equal(readFileSync(victim, 'utf8'), 'keep');
  assert.ok(lstatSync(path).isFile());
  assert.equal(readFileSync(path, 'utf8'), 'hello\n');

  const d = join(dir, 'd.log');
  mkdirSync(d);
  const g = new RotatingFile(d, 8192);
  g.write('x\n');
  g.close();
  assert.ok(lstatSync(d).isFile());
});

test('rotation over a planted .1 symlink does not touch its target', (t) => {
  const dir = tmp(t);
  const victim = join(dir, 'victim');
  writeFileSync(victim, 'keep');
  const path = join(dir, 'x.log');
  symlinkSync(victim, `${path}.1`);
  const f = new RotatingFile(path, 4096);
  for (let i = 0; i < 200; i++) f.write('0123456789012345678901234567890\n');
  f.close();
  assert.equal(readFileSync(victim, 'utf8'), 'keep');
  assert.ok(lstatSync(`${path}.1`).isFile());
});

test('truncate and remove', (t) => {
  const dir = tmp(t);
  const path = join(dir, 'x.log');
  const f = new RotatingFile(path, 4096);
  for (let i = 0; i < 200; i++) f.write('0123456789012345678901234567890\n');
  assert.ok(existsSync(`${path}.1`));
  f.truncate();
  assert.equal(statSync(path).size, 0);
  assert.ok(!existsSync(`${path}.1`));
  f.write('after\n');
  assert.equal(readFileSync(path, 'utf8'), 'after\n');
  f.remove();
  assert.ok(!existsSync(path));
});

test('positions only grow and map to the generation files across rotations', (t) => {
  const dir = tmp(t);
  const path = join(dir, 'x.log');
  writeFileSync(path, 'old-1\nold-2\n');
  const f = new RotatingFile(path, 4096);
  assert.equal(f.end, 0);
  assert.deepEqual(f.spans(), [{ path, base: -12, size: 12 }]);
  for (let i = 0; i < 1000; i++) {
    f.write(`line-${String(i).padStart(4, '0')}\n`);
  }
  assert.equal(f.end, 1000 * 10);
  const spans = f.spans();
  assert.equal(spans.length, 2);
  assert.equal(spans[0]!.path, `${path}.1`);
  assert.equal(spans[0]!.base + spans[0]!.size, spans[1]!.base);
  assert.equal(spans[1]!.base + spans[1]!.size, f.end);
  // Reading from a position gives the entry written there, in either generation.
  for (const at of [spans[0]!.base, spans[1]!.base - 10, spans[1]!.base, f.end - 10]) {
    const { entries, next } = readEntriesFrom(spans, at, 10);
    assert.equal(entries.length, 1);
    assert.equal(entries[0]!.entry.d, `line-${String(at / 10).padStart(4, '0')}`);
    assert.equal(next, at + 10);
  }
  f.truncate();
  assert.equal(f.clearedAt, 10_000);
  assert.equal(f.end, 10_000);
  f.write('after\n');
  assert.equal(f.end, 10_006);
  assert.deepEqual(f.spans(), [{ path, base: 10_000, size: 6 }]);
  f.close();
});
