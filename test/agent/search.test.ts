/**
 * Search routes (runtime.md §4) against the real agent on the host (host rg).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertError, startAgent, type AgentHandle } from './harness.js';

let agent: AgentHandle;
let dir: string;
const enc = encodeURIComponent;

before(async () => {
  agent = await startAgent();
  dir = mkdtempSync(join(tmpdir(), 'wsearch-'));
  mkdirSync(join(dir, 'src'), { recursive: true });
  mkdirSync(join(dir, '.hidden'), { recursive: true });
  writeFileSync(join(dir, 'src/server.go'), 'package main\n\nfunc handleRequest() {}\n// handleRequest again\n');
  writeFileSync(join(dir, 'src/app.ts'), 'const x = handleRequest;\nconst HandleRequestX = 1;\n');
  writeFileSync(join(dir, '.hidden/secret.ts'), 'handleRequest\n');
  writeFileSync(join(dir, 'many.txt'), 'needle\n'.repeat(500));
});

after(async () => {
  await agent?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const search = (params: string) => agent.call(`/files/search?path=${enc(dir)}&${params}`);

test('content search returns results keyed by relative path and a flat matches array', async () => {
  const r = await search('q=handleRequest&file_types=go,ts');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.success, true);
  assert.equal(r.body.query, 'handleRequest');
  assert.equal(r.body.path, dir);
  assert.deepEqual(Object.keys(r.body.results).sort(), ['src/app.ts', 'src/server.go']);
  assert.deepEqual(r.body.results['src/server.go'][0], { line_number: 3, line: 3, column: 6, text: 'func handleRequest() {}' });
  assert.equal(r.body.total_matches, 4); // case-insensitive by default: HandleRequestX too
  assert.equal(r.body.total_files, 2);
  assert.equal(r.body.capped, false);
  // CLI `oblien search` prints `${m.path}:${m.line_number}  ${m.line ?? m.text}`: line is the text here
  assert.ok(r.body.matches.every((m: any) => typeof m.path === 'string' && m.line_number > 0 && m.text && m.line === m.text));
});

test('content search options: case, whole word, regex, hidden, context, ignore, cap', async () => {
  assert.equal((await search('q=handleRequest&case_sensitive=true&file_types=ts')).body.total_matches, 1);
  assert.equal((await search('q=HandleRequest&whole_word=true&file_types=ts')).body.total_matches, 1);
  assert.equal((await search('q=handle.*again&regex=true')).body.total_matches, 1);
  assert.equal((await search('q=handle.*again')).body.total_matches, 0); // literal by default
  assert.equal((await search('q=handleRequest&include_hidden=true&file_types=ts')).body.total_files, 2);
  const ctx = await search('q=func&context_lines=1&file_types=go');
  assert.deepEqual(ctx.body.matches[0].context_before, ['']);
  assert.deepEqual(ctx.body.matches[0].context_after, ['// handleRequest again']);
  assert.equal((await search(`q=handleRequest&ignore_patterns=${enc('*.go')}`)).body.total_files, 1);
  const capped = await search('q=needle&max_results=10');
  assert.equal(capped.body.total_matches, 10);
  assert.equal(capped.body.capped, true);
});

test('content search errors', async () => {
  assertError(await search(''), 400, 'bad_request');
  assertError(await search(`q=${'a'.repeat(1001)}`), 400, 'bad_request');
  assertError(await agent.call(`/files/search?q=x&path=${enc(join(dir, 'nope'))}`), 404, 'not_found');
  assertError(await agent.call('/files/search?q=x&path=rel'), 400, 'bad_request');
  assertError(await agent.call(`/files/search?q=x&path=${enc(join(dir, 'many.txt'))}`), 400, 'bad_request');
  assertError(await search('q=(unclosed&regex=true'), 400, 'bad_request');
});

test('filename search', async () => {
  const r = await agent.call(`/files/search/files?path=${enc(dir)}&q=APP`);
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.files, ['src/app.ts']);
  assert.equal(r.body.total_files, 1);
  const hidden = await agent.call(`/files/search/files?path=${enc(dir)}&q=.ts&include_hidden=true`);
  assert.deepEqual(hidden.body.files.sort(), ['.hidden/secret.ts', 'src/app.ts']);
  const cs = await agent.call(`/files/search/files?path=${enc(dir)}&q=APP&case_sensitive=true`);
  assert.deepEqual(cs.body.files, []);
  const cap = await agent.call(`/files/search/files?path=${enc(dir)}&q=s&max_results=1`);
  assert.equal(cap.body.files.length, 1);
  assert.equal(cap.body.capped, true);
  assertError(await agent.call(`/files/search/files?path=${enc(dir)}`), 400, 'bad_request');
  assertError(await agent.call(`/files/search/files?q=x&path=${enc(join(dir, 'many.txt'))}`), 400, 'bad_request');
});

test('search init: status and idempotent install report rg', async () => {
  const s = await agent.call('/files/search/init');
  assert.equal(s.body.success, true);
  assert.equal(s.body.installed, true);
  assert.match(s.body.path, /\/rg$/);
  assert.match(s.body.version, /^\d+\./);
  for (let i = 0; i < 2; i++) {
    const r = await agent.call('/files/search/init', { method: 'POST' });
    assert.deepEqual(r.body, { success: true, installed: true, path: s.body.path, version: s.body.version });
  }
});
