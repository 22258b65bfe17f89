import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HostFiles } from './files.js';

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'warren-files-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('writeAtomic replaces a file with the given mode and leaves no temp file; readText reads it or null', async (t) => {
  const dir = tempDir(t);
  const files = new HostFiles();
  const path = join(dir, 'token');
  assert.equal(await files.readText(path), null);
  await files.writeAtomic(path, 'one', 0o600);
  await files.writeAtomic(path, 'two', 0o600);
  assert.equal(await files.readText(path), 'two');
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.deepEqual(readdirSync(dir), ['token']);
  await assert.rejects(files.writeAtomic(join(dir, 'missing', 'x'), 'y', 0o644), /ENOENT/, 'the directory must exist');
});

test('directories: make (nested, idempotent), move, list ([] when absent), remove (absent is fine)', async (t) => {
  const dir = tempDir(t);
  const files = new HostFiles();
  const a = join(dir, 'a', 'b');
  await files.make(a, 0o700);
  await files.make(a, 0o700);
  writeFileSync(join(a, 'f'), 'x');
  await files.move(join(dir, 'a'), join(dir, 'c'));
  assert.deepEqual(await files.list(dir), ['c']);
  assert.deepEqual(await files.list(join(dir, 'nope')), []);
  await files.remove(join(dir, 'c'));
  await files.remove(join(dir, 'c'));
  assert.deepEqual(await files.list(dir), []);
});
