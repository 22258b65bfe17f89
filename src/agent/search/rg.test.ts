import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rgArgs, runRg, type SearchOptions } from './rg.js';

const base: SearchOptions = {
  query: '-e x', root: '/app', regex: false, caseSensitive: false, wholeWord: false, maxResults: 10, timeoutMs: 5000,
  contextLines: 0, fileTypes: [], includeHidden: false, noGitignore: false, ignorePatterns: [],
};

test('rgArgs: literal by default, the query can never be read as an option', () => {
  const a = rgArgs(base);
  assert.ok(a.includes('--fixed-strings'));
  assert.ok(a.includes('--ignore-case'));
  assert.deepEqual(a.slice(-4), ['--regexp', '-e x', '--', '/app']);
  const b = rgArgs({ ...base, regex: true, caseSensitive: true, wholeWord: true, contextLines: 2, fileTypes: ['.go', 'ts'],
    includeHidden: true, noGitignore: true, ignorePatterns: ['dist'] });
  assert.ok(!b.includes('--fixed-strings'));
  for (const flag of ['--case-sensitive', '--word-regexp', '--hidden', '--no-ignore']) assert.ok(b.includes(flag), flag);
  assert.equal(b[b.indexOf('--context') + 1], '2');
  const globs = b.flatMap((v, i) => (v === '--glob' ? [b[i + 1]] : []));
  assert.deepEqual(globs, ['*.go', '*.ts', '!dist']);
  assert.ok(rgArgs({ ...base, root: '/' }).includes('!/proc'));
});

test('runRg kills a search that outlives its timeout', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wrg-'));
  try {
    const fake = join(dir, 'rg');
    writeFileSync(fake, '#!/bin/sh\nexec sleep 30\n');
    chmodSync(fake, 0o755);
    const started = Date.now();
    const out = await runRg(fake, { ...base, timeoutMs: 300 });
    assert.equal(out.timedOut, true);
    assert.ok(Date.now() - started < 5000);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('runRg stops reading once max_results is exceeded (capped)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wrg-'));
  try {
    writeFileSync(join(dir, 'a.txt'), 'hit\n'.repeat(100_000));
    const out = await runRg('/usr/bin/rg', { ...base, query: 'hit', root: dir, maxResults: 5 });
    assert.equal(out.matches.length, 5);
    assert.equal(out.capped, true);
    assert.deepEqual(out.matches[0], { path: 'a.txt', line_number: 1, line: 'hit', column: 1, text: 'hit' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
