/**
 * File routes (runtime.md §3) against the real agent run on the host, in a temp dir.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertError, startAgent, type AgentHandle } from './harness.js';

let agent: AgentHandle;
let dir: string;
const enc = encodeURIComponent;

before(async () => {
  agent = await startAgent();
  dir = mkdtempSync(join(tmpdir(), 'wfiles-'));
  mkdirSync(join(dir, 'src/lib'), { recursive: true });
  mkdirSync(join(dir, 'node_modules/x'), { recursive: true });
  writeFileSync(join(dir, '.gitignore'), 'node_modules/\n*.log\n');
  writeFileSync(join(dir, 'src/main.ts'), 'export const a = 1;\n');
  writeFileSync(join(dir, 'src/lib/util.go'), 'package lib\n');
  writeFileSync(join(dir, 'debug.log'), 'noise\n');
  writeFileSync(join(dir, 'node_modules/x/index.js'), 'x\n');
  writeFileSync(join(dir, 'README.md'), 'l1\nl2\nl3\nl4\n');
  writeFileSync(join(dir, 'blob.bin'), Buffer.from([1, 0, 2, 3]));
});

after(async () => {
  await agent?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('GET /files lists one level with size/modified; /files/list is an alias', async () => {
  const r = await agent.call(`/files?path=${enc(dir)}`);
  assert.equal(r.status, 200);
  assert.equal(r.body.success, true);
  assert.equal(r.body.path, dir);
  const names = r.body.entries.map((e: any) => e.name).sort();
  assert.deepEqual(names, ['.gitignore', 'README.md', 'blob.bin', 'src']); // gitignore applied
  const readme = r.body.entries.find((e: any) => e.name === 'README.md');
  assert.equal(readme.type, 'file');
  assert.equal(readme.size, 12);
  assert.ok(readme.modified);
  assert.equal(r.body.count, 4);
  const alias = await agent.call(`/files/list?path=${enc(dir)}&use_gitignore=false&light=true`);
  assert.equal(alias.body.count, 6);
  assert.equal(alias.body.entries[0].size, undefined);
});

test('GET /files nested tree, flatten, filters, hash and content', async () => {
  const tree = await agent.call(`/files?path=${enc(dir)}&nested=true`);
  const src = tree.body.entries.find((e: any) => e.name === 'src');
  assert.ok(src.children.some((c: any) => c.name === 'lib' && c.children.length === 1));
  const flat = await agent.call(`/files?path=${enc(dir)}&nested=true&flatten=true&include_ext=go,ts&include_hash=true&include_content=true`);
  const paths = flat.body.entries.map((e: any) => e.path).sort();
  assert.deepEqual(paths, [join(dir, 'src/lib/util.go'), join(dir, 'src/main.ts')]);
  const main = flat.body.entries.find((e: any) => e.name === 'main.ts');
  assert.equal(main.content, 'export const a = 1;\n');
  assert.equal(main.hash, createHash('sha256').update('export const a = 1;\n').digest('hex'));
  const code = await agent.call(`/files?path=${enc(dir)}&nested=true&flatten=true&code_files_only=true&path_filter=LIB`);
  assert.deepEqual(code.body.entries.map((e: any) => e.name), ['util.go']);
  const shallow = await agent.call(`/files?path=${enc(dir)}&nested=true&flatten=true&max_depth=1&ignore_patterns=*.md`);
  assert.ok(!shallow.body.entries.some((e: any) => e.name === 'main.ts' || e.name === 'README.md'));
});

test('GET /files errors', async () => {
  assertError(await agent.call('/files?path=relative/dir'), 400, 'bad_request');
  assertError(await agent.call(`/files?path=${enc(join(dir, 'nope'))}`), 404, 'not_found');
  assertError(await agent.call(`/files?path=${enc(join(dir, 'README.md'))}`), 400, 'bad_request');
  assertError(await agent.call(`/files?path=${enc(dir)}&nested=maybe`), 400, 'bad_request');
});

test('GET /files/stream emits NDJSON start, entries, done', async () => {
  const r = await agent.call(`/files/stream?path=${enc(dir)}`);
  assert.equal(r.status, 200);
  const lines = r.text.split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l));
  assert.deepEqual(lines[0], { event: 'start', path: dir });
  const last = lines[lines.length - 1];
  assert.equal(last.event, 'done');
  const entries = lines.filter((l) => !l.event);
  assert.equal(last.count, entries.length);
  assert.ok(entries.some((e) => e.path === join(dir, 'src/lib/util.go'))); // recursive by default
  assertError(await agent.call(`/files/stream?path=${enc(join(dir, 'nope'))}`), 404, 'not_found');
});

test('GET /files/read: whole, ranged, numbered, errors', async () => {
  const p = join(dir, 'README.md');
  const whole = await agent.call(`/files/read?path=${enc(p)}`);
  assert.equal(whole.status, 200);
  assert.equal(whole.body.content, 'l1\nl2\nl3\nl4\n');
  assert.equal(whole.body.size, 12);
  assert.equal(whole.body.extension, '.md');
  assert.equal(whole.body.lines, 4);
  const numbered = await agent.call(`/files/read?path=${enc(p)}&with_line_numbers=true`);
  assert.equal(numbered.body.content, '1\tl1\n2\tl2\n3\tl3\n4\tl4');
  const range = await agent.call(`/files/read?path=${enc(p)}&start_line=2&end_line=3&with_line_numbers=true`);
  assert.equal(range.body.content, '2\tl2\n3\tl3');
  assert.equal(range.body.lines, 2);
  assert.equal(range.body.start_line, 2);
  assert.equal(range.body.end_line, 3);
  assertError(await agent.call(`/files/read?path=${enc(p)}&start_line=3&end_line=2`), 400, 'bad_request');
  assertError(await agent.call('/files/read'), 400, 'bad_request');
  assertError(await agent.call(`/files/read?path=${enc(dir)}`), 400, 'bad_request');
  assertError(await agent.call(`/files/read?path=${enc(join(dir, 'x'))}`), 404, 'not_found');
  const bin = await agent.call(`/files/read?path=${enc(join(dir, 'blob.bin'))}`);
  assertError(bin, 400, 'bad_request');
  assert.equal(bin.body.details?.reason ?? bin.body.reason, 'binary_file');
  const big = join(dir, 'big.txt');
  writeFileSync(big, 'line\n'.repeat(2_200_000 + 1)); // 11 MB > 10 MiB limit
  assertError(await agent.call(`/files/read?path=${enc(big)}`), 413, 'payload_too_large');
  const tail = await agent.call(`/files/read?path=${enc(big)}&start_line=2200001&end_line=2200005`);
  assert.equal(tail.body.content, 'line');
  assert.equal(tail.body.lines, 1);
  rmSync(big);
});

test('reading through a symlink follows it (the sandbox root is the boundary)', async () => {
  symlinkSync(join(dir, 'README.md'), join(dir, 'link.md'));
  const r = await agent.call(`/files/read?path=${enc(join(dir, 'link.md'))}`);
  assert.equal(r.body.content, 'l1\nl2\nl3\nl4\n');
  rmSync(join(dir, 'link.md'));
});

test('POST/PUT /files/write: create_dirs, atomic replace, append, mode, escapes', async () => {
  const p = join(dir, 'out/deep/a.txt');
  assertError(await agent.call('/files/write', { method: 'POST', body: JSON.stringify({ path: p, content: 'x' }) }), 404, 'not_found');
  const w = await agent.call('/files/write', { method: 'POST', body: JSON.stringify({ path: p, content: 'héllo \u{1F600}\n"q"\\', create_dirs: true, mode: '0600' }) });
  assert.equal(w.status, 201, w.text);
  assert.deepEqual(w.body, { success: true, path: p, size: Buffer.byteLength('héllo \u{1F600}\n"q"\\') });
  assert.equal(readFileSync(p, 'utf8'), 'héllo \u{1F600}\n"q"\\');
  assert.equal(statSync(p).mode & 0o777, 0o600);
  const a = await agent.call('/files/write', { method: 'PUT', body: JSON.stringify({ path: p, content: '+more', append: true }) });
  assert.equal(a.status, 201);
  assert.equal(readFileSync(p, 'utf8'), 'héllo \u{1F600}\n"q"\\+more');
  const camel = await agent.call('/files/write', { method: 'POST', body: JSON.stringify({ mode: '0644', createDirs: true, content: '', path: join(dir, 'c/empty') }) });
  assert.equal(camel.status, 201);
  assert.equal(readFileSync(join(dir, 'c/empty'), 'utf8'), '');
  assert.deepEqual(readdirSync(join(dir, 'out/deep')), ['a.txt']); // no temp files left
  const esc = join(dir, 'c/esc.txt');
  const raw = `{"path":"${esc}","content":"\\ud83d\\ude00\\u00e9\\t\\/","extra":{"a":[1,"}"]}}`;
  assert.equal((await agent.call('/files/write', { method: 'POST', body: raw })).status, 201);
  assert.equal(readFileSync(esc, 'utf8'), '\u{1F600}é\t/');
});

test('POST /files/write errors', async () => {
  assertError(await agent.call('/files/write', { method: 'POST', body: '{"path":"rel.txt","content":"x"}' }), 400, 'bad_request');
  assertError(await agent.call('/files/write', { method: 'POST', body: '{"content":"x"}' }), 400, 'bad_request');
  assertError(await agent.call('/files/write', { method: 'POST', body: `{"path":"${join(dir, 'm')}","content":"x","mode":"rwx"}` }), 400, 'bad_request');
  assertError(await agent.call('/files/write', { method: 'POST', body: '{"path":' }), 400, 'bad_request');
  assertError(await agent.call('/files/write', { method: 'POST', body: JSON.stringify({ path: dir, content: 'x' }) }), 400, 'bad_request');
});

test('a 64 MiB write streams to disk and reads back identically', async () => {
  const line = 'abcdefghijklmnopqrstuvwxyz0123456789"\\\n';
  const content = line.repeat(Math.ceil((64 * 1024 * 1024) / line.length));
  const p = join(dir, 'huge.txt');
  const w = await agent.call('/files/write', { method: 'POST', body: JSON.stringify({ path: p, content }) });
  assert.equal(w.status, 201, w.text.slice(0, 300));
  // Streamed to disk: the agent's peak RSS stays far below one copy of the body.
  const hwmKb = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${agent.pid}/status`, 'utf8'))?.[1]);
  console.log(`agent VmHWM after 64 MiB write: ${Math.round(hwmKb / 1024)} MiB`);
  assert.ok(hwmKb < 200 * 1024, `agent peak RSS ${hwmKb} kB`);
  assert.equal(w.body.size, Buffer.byteLength(content));
  const want = createHash('sha256').update(content).digest('hex');
  assert.equal(createHash('sha256').update(readFileSync(p)).digest('hex'), want);
  rmSync(p);
});

test('POST /files/mkdir and POST/DELETE /files/delete', async () => {
  const d = join(dir, 'made/a/b');
  const m = await agent.call('/files/mkdir', { method: 'POST', body: JSON.stringify({ path: d }) });
  assert.equal(m.status, 201);
  assert.deepEqual(m.body, { success: true, path: d });
  assert.ok(statSync(d).isDirectory());
  assertError(await agent.call('/files/mkdir', { method: 'POST', body: JSON.stringify({ path: join(dir, 'README.md') }) }), 409, 'conflict');
  assertError(await agent.call('/files/mkdir', { method: 'POST', body: '{}' }), 400, 'bad_request');
  const del = await agent.call('/files/delete', { method: 'POST', body: JSON.stringify({ path: join(dir, 'made') }) });
  assert.deepEqual(del.body, { success: true, path: join(dir, 'made') });
  assert.ok(!existsSync(join(dir, 'made')));
  writeFileSync(join(dir, 'gone.txt'), 'x');
  const q = await agent.call(`/files/delete?path=${enc(join(dir, 'gone.txt'))}`, { method: 'DELETE' });
  assert.equal(q.status, 200);
  assert.ok(!existsSync(join(dir, 'gone.txt')));
  assertError(await agent.call(`/files/delete?path=${enc(join(dir, 'gone.txt'))}`, { method: 'DELETE' }), 404, 'not_found');
  for (const p of ['/', '/etc', '/usr', '/proc', '/etc/../usr/']) {
    assertError(await agent.call('/files/delete', { method: 'POST', body: JSON.stringify({ path: p }) }), 403, 'forbidden');
  }
  assertError(await agent.call('/files/delete', { method: 'POST', body: '{"path":"tmp/x"}' }), 400, 'bad_request');
  assert.ok(existsSync('/etc/hostname') || existsSync('/etc'));
});
