import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IgnoreMatcher, globToRegExp } from './glob.js';

test('globToRegExp: *, ?, **, classes', () => {
  assert.ok(globToRegExp('*.log').test('a.log'));
  assert.ok(!globToRegExp('*.log').test('d/a.log'));
  assert.ok(globToRegExp('src/**/x.ts').test('src/x.ts'));
  assert.ok(globToRegExp('src/**/x.ts').test('src/a/b/x.ts'));
  assert.ok(globToRegExp('file?.[ch]').test('file1.c'));
  assert.ok(!globToRegExp('file?.[!ch]').test('file1.c'));
  assert.ok(globToRegExp('a+b(1).txt').test('a+b(1).txt'));
});

test('IgnoreMatcher: names at any depth, anchored paths, dir-only, negation, comments', () => {
  const m = new IgnoreMatcher(['# comment', 'node_modules/', '*.log', '!keep.log', '/build', 'docs/*.md']);
  assert.ok(m.ignores('node_modules', true));
  assert.ok(m.ignores('a/node_modules', true));
  assert.ok(!m.ignores('node_modules', false)); // dir-only
  assert.ok(m.ignores('x/y.log', false));
  assert.ok(!m.ignores('x/keep.log', false));
  assert.ok(m.ignores('build', true));
  assert.ok(!m.ignores('sub/build', true)); // anchored
  assert.ok(m.ignores('docs/a.md', false));
  assert.ok(!m.ignores('docs/sub/a.md', false));
  assert.ok(new IgnoreMatcher(['', '  ', '#x']).empty);
});
