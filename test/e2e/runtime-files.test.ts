/**
 * Files, search and transfer (runtime.md §3, §4, §8) through a real Warren server and
 * the official `Runtime` client, in a debian-12 workspace (no rg in the image: search
 * uses the runtime bundle's ripgrep, bound read-only at /.warren/runtime/bin/rg).
 *
 * Escape attempts must never reach host data: `..` paths are normalised inside the
 * workspace root, and a symlink to /etc/shadow reads the WORKSPACE's shadow (a marker we
 * write), even while the link is being swapped during reads.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Oblien, { Runtime } from 'oblien';
import { ADMIN, startServer, type TestServer } from '../support/warren.js';
import { ensureTestImages } from '../support/images.js';

let server: TestServer;
let client: InstanceType<typeof Oblien>;
let rt: InstanceType<typeof Runtime>;
let wsId = '';
let scratch = '';
const MARKER = `warren-marker-${randomBytes(8).toString('hex')}`;
const HOST_SHADOW = readFileSync('/etc/shadow', 'utf8');

before(async () => {
  await ensureTestImages();
  server = await startServer();
  client = new Oblien({ clientId: ADMIN.clientId, clientSecret: ADMIN.clientSecret, baseUrl: server.url });
  const ws = await client.workspaces.create({ image: 'debian-12', name: 'files-e2e', memory_mb: 512 });
  wsId = ws.id;
  await client.workspaces.network.update(ws.id, { public_access: true });
  const { token } = await client.workspaces.apiAccess.enable(ws.id);
  rt = new Runtime({ token, baseUrl: server.url });
  scratch = mkdtempSync(join(tmpdir(), 'wfiles-e2e-'));
});

after(async () => {
  if (wsId) await client.workspaces.delete(wsId).catch(() => undefined);
  await server?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

/** Downloads `paths` and returns the bytes of `member` from the archive. */
async function downloadMember(paths: string[], member: string): Promise<Buffer> {
  const res = await rt.transfer.download({ paths });
  assert.equal(res.status, 200);
  const archive = join(scratch, `dl-${randomBytes(4).toString('hex')}.tar.gz`);
  writeFileSync(archive, Buffer.from(await res.arrayBuffer()));
  return execFileSync('tar', ['-xzOf', archive, member], { maxBuffer: 256 * 1024 * 1024 });
}

describe('runtime files through the gateway', () => {
  test('write, read, stat, list, stream, mkdir, delete', async () => {
    const w = await rt.files.write({ fullPath: '/srv/app/src/main.go', content: 'package main\n// hi\n', createDirs: true });
    assert.deepEqual(w, { success: true, path: '/srv/app/src/main.go', size: 19 });
    const r = await rt.files.read({ filePath: '/srv/app/src/main.go', startLine: 2, endLine: 2 });
    assert.equal(r.content, '// hi');
    const st = await rt.files.stat({ path: '/srv/app/src/main.go' });
    assert.equal(st.type, 'file');
    assert.equal(st.size, 19);
    await rt.files.mkdir({ path: '/srv/app/empty/a' });
    const list = await rt.files.list({ dirPath: '/srv/app', nested: true, flatten: true });
    const paths = list.entries.map((e: any) => e.path).sort();
    assert.deepEqual(paths, ['/srv/app/empty', '/srv/app/empty/a', '/srv/app/src', '/srv/app/src/main.go']);
    const streamed: string[] = [];
    for await (const e of rt.files.stream({ dirPath: '/srv/app' })) streamed.push((e as any).path);
    assert.deepEqual(streamed.sort(), paths);
    assert.deepEqual(await rt.files.delete({ path: '/srv/app/empty' }), { success: true, path: '/srv/app/empty' });
    await assert.rejects(rt.files.stat({ path: '/srv/app/empty' }), (err: any) => err.status === 404);
    await assert.rejects(rt.files.delete({ path: '/etc' }), (err: any) => err.status === 403);
  });

  test('path escapes stay inside the workspace', async () => {
    await assert.rejects(rt.files.read({ filePath: '../../etc/shadow' }), (err: any) => err.status === 400);
    await rt.files.write({ fullPath: '/etc/shadow', content: `${MARKER}\n` });
    const dotted = await rt.files.read({ filePath: '/root/../../../../etc/shadow' });
    assert.equal(dotted.content, `${MARKER}\n`);
    const exec = await rt.exec.run(['ln', '-sf', '/etc/shadow', '/root/shadow-link']);
    assert.equal(exec.exit_code, 0);
    const viaLink = await rt.files.read({ filePath: '/root/shadow-link' });
    assert.equal(viaLink.content, `${MARKER}\n`);
    assert.notEqual(viaLink.content, HOST_SHADOW);
    const viaTransfer = await downloadMember(['/root/shadow-link', '/etc/shadow'], 'etc/shadow');
    assert.equal(viaTransfer.toString(), `${MARKER}\n`);
  });

  test('a symlink swapped during reads never yields host data', async () => {
    await rt.files.write({ fullPath: '/root/swap-plain', content: 'plain\n' });
    const swapper = 'for i in $(seq 1 400); do ln -sfn /etc/shadow /root/swap; cp /root/swap-plain /root/swap.tmp; mv -f /root/swap.tmp /root/swap; done';
    const running = rt.exec.run(['sh', '-c', swapper], { timeout_seconds: 60 });
    const seen = new Set<string>();
    for (let i = 0; i < 60; i++) {
      try {
        seen.add((await rt.files.read({ filePath: '/root/swap' })).content);
      } catch (err: any) {
        assert.equal(err.status, 404); // between unlink and rename
      }
    }
    await running;
    for (const content of seen) assert.ok(content === 'plain\n' || content === `${MARKER}\n`, `unexpected: ${content.slice(0, 40)}`);
    assert.ok(!seen.has(HOST_SHADOW));
  });

  test('a 64 MiB write reads back with the same sha256', async () => {
    const line = `${randomBytes(32).toString('hex')}\n`;
    const content = line.repeat((64 * 1024 * 1024) / line.length + 1);
    const want = createHash('sha256').update(content).digest('hex');
    const w = await rt.files.write({ fullPath: '/root/big/huge.txt', content, createDirs: true });
    assert.equal(w.size, Buffer.byteLength(content));
    const back = await downloadMember(['/root/big/huge.txt'], 'root/big/huge.txt');
    assert.equal(createHash('sha256').update(back).digest('hex'), want);
    const tail = await rt.files.read({ filePath: '/root/big/huge.txt', startLine: 1_000_000, endLine: 1_000_001 });
    assert.equal(tail.content, `${line.trim()}\n${line.trim()}`);
    await assert.rejects(rt.files.read({ filePath: '/root/big/huge.txt' }), (err: any) => err.status === 413);
    await rt.files.delete({ path: '/root/big' });
  });

  test('search: init, status, content and filenames', async () => {
    const status = await rt.search.status();
    assert.equal(status.installed, true);
    assert.equal(status.path, '/.warren/runtime/bin/rg');
    const init = await rt.search.init();
    assert.equal(init.installed, true);
    await rt.files.write({ fullPath: '/srv/proj/server.go', content: 'package main\nfunc handleRequest() {}\n', createDirs: true });
    await rt.files.write({ fullPath: '/srv/proj/util.ts', content: 'handleRequest();\n' });
    const res = await rt.search.content({ query: 'handleRequest', path: '/srv/proj' });
    assert.equal(res.total_matches, 2);
    assert.equal(res.total_files, 2);
    assert.deepEqual(res.results['server.go'], [{ line_number: 2, line: 2, column: 6, text: 'func handleRequest() {}' }]);
    assert.equal(res.matches.length, 2);
    const files = await rt.search.files({ query: 'util', path: '/srv/proj' });
    assert.deepEqual(files.files, ['util.ts']);
  });

  test('transfer: upload a tar.gz, download it back; unsafe archives refused', async () => {
    const src = join(scratch, 'push');
    mkdirSync(join(src, 'sub'), { recursive: true });
    writeFileSync(join(src, 'sub/one.txt'), 'one\n');
    writeFileSync(join(src, 'two.txt'), 'two\n');
    const archive = execFileSync('tar', ['-czf', '-', '-C', src, '.']);
    const up = await rt.transfer.upload({ body: archive, dest: '/srv/pushed' });
    assert.equal(up.files_extracted, 2);
    assert.equal((await rt.files.read({ filePath: '/srv/pushed/sub/one.txt' })).content, 'one\n');
    const chunked = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < archive.length; i += 64) c.enqueue(new Uint8Array(archive.subarray(i, i + 64)));
        c.close();
      },
    });
    const upStream = await rt.transfer.upload({ body: chunked, dest: '/srv/pushed2' });
    assert.equal(upStream.files_extracted, 2);
    assert.equal((await rt.files.read({ filePath: '/srv/pushed2/two.txt' })).content, 'two\n');
    const back = await downloadMember(['/srv/pushed'], 'srv/pushed/two.txt');
    assert.equal(back.toString(), 'two\n');
    const evil = execFileSync('python3', ['-c', [
      'import tarfile, io, sys', 'b = io.BytesIO()', "t = tarfile.open(fileobj=b, mode='w:gz')",
      "i = tarfile.TarInfo('../../escape.txt'); i.size = 1; t.addfile(i, io.BytesIO(b'x'))",
      't.close()', 'sys.stdout.buffer.write(b.getvalue())'].join('\n')]);
    await assert.rejects(rt.transfer.upload({ body: evil, dest: '/srv/pushed' }), (err: any) => err.status === 400);
    await assert.rejects(rt.files.stat({ path: '/escape.txt' }), (err: any) => err.status === 404);
  });
});
