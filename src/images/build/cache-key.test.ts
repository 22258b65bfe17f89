import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ImageConfig } from '../records.js';
import { stepKey, type KeyedFile } from './cache-key.js';
import { parseDockerfile } from './dockerfile.js';
import { planBody, planFrom } from './plan.js';

const BASE_KEY = `sha256:${'b'.repeat(64)}`;
const CONFIG: ImageConfig = { env: ['PATH=/usr/bin:/bin'], exposedPorts: [], labels: {} };

/** Keys of every step as the executor chains them; `files` gives COPY steps' files by line. */
function keys(src: string, files: Record<number, KeyedFile[]> = {}, buildArgs: Record<string, string> = {}): string[] {
  const parsed = parseDockerfile(src);
  const { metaArgs } = planFrom(parsed, buildArgs);
  let key = BASE_KEY;
  return planBody(parsed, buildArgs, metaArgs, CONFIG).steps.map((s) => (key = stepKey(key, s.canonical, files[s.line] ?? [])));
}

const DOCKERFILE = 'FROM debian-12\nENV A=1\nRUN make\nCOPY src /src\nWORKDIR /src\nRUN make install\n';
const file = (path: string, sha: string, mode = 0o644): KeyedFile => ({ path, type: 'file', mode, sha256: sha.repeat(64) });
const FILES = { 4: [{ path: 'src', type: 'dir', mode: 0o755, sha256: '' } as KeyedFile, file('src/a.c', 'a'), file('src/b.c', 'b')] };

test('the same inputs give the same keys', () => {
  assert.deepEqual(keys(DOCKERFILE, FILES), keys(DOCKERFILE, FILES));
  assert.match(keys(DOCKERFILE, FILES)[0] ?? '', /^sha256:[0-9a-f]{64}$/);
  assert.equal(new Set(keys(DOCKERFILE, FILES)).size, 5, 'every step has its own key');
});

test('changing the last line changes only the last key', () => {
  const a = keys(DOCKERFILE, FILES);
  const b = keys(DOCKERFILE.replace('RUN make install', 'RUN make install PREFIX=/opt'), FILES);
  assert.deepEqual(b.slice(0, -1), a.slice(0, -1));
  assert.notEqual(b[4], a[4]);
});

test('changing a line changes its key and every key after it', () => {
  const a = keys(DOCKERFILE, FILES);
  const b = keys(DOCKERFILE.replace('ENV A=1', 'ENV A=2'), FILES);
  assert.ok(a.every((k, i) => k !== b[i]));
});

test('a changed file under COPY changes that COPY key and those after it, not those before', () => {
  const a = keys(DOCKERFILE, FILES);
  const changed = { 4: FILES[4].map((f) => (f.path === 'src/b.c' ? { ...f, sha256: 'c'.repeat(64) } : f)) };
  const b = keys(DOCKERFILE, changed);
  assert.deepEqual(b.slice(0, 2), a.slice(0, 2));
  for (const i of [2, 3, 4]) assert.notEqual(b[i], a[i]);
});

test('a file mode, a path (rename) or an added file changes the COPY key; the order found does not', () => {
  const base = keys(DOCKERFILE, FILES)[2];
  const mode = { 4: FILES[4].map((f) => (f.path === 'src/a.c' ? { ...f, mode: 0o755 } : f)) };
  const renamed = { 4: FILES[4].map((f) => (f.path === 'src/a.c' ? { ...f, path: 'src/z.c' } : f)) };
  const added = { 4: [...FILES[4], file('src/new.c', 'd')] };
  const reordered = { 4: [...FILES[4]].reverse() };
  assert.notEqual(keys(DOCKERFILE, mode)[2], base);
  assert.notEqual(keys(DOCKERFILE, renamed)[2], base);
  assert.notEqual(keys(DOCKERFILE, added)[2], base);
  assert.equal(keys(DOCKERFILE, reordered)[2], base);
});

test('a build arg changes the keys of RUN steps that see it, from the first such RUN on', () => {
  const src = 'FROM x\nCOPY a /a\nARG V=1\nCOPY b /b\nRUN make\n';
  const a = keys(src);
  const b = keys(src, {}, { V: '2' });
  assert.deepEqual(b.slice(0, 3), a.slice(0, 3), 'steps that do not read V keep their keys');
  assert.notEqual(b[3], a[3]);
});

test('the parent key is part of the key', () => {
  assert.notEqual(stepKey(BASE_KEY, '["RUN"]'), stepKey(`sha256:${'c'.repeat(64)}`, '["RUN"]'));
});
