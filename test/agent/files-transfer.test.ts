/**
 * tar.gz transfer (runtime.md §8) against the real agent on the host: download is a
 * streamed archive `tar` can read; upload extracts safely (chunked bodies too).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAgent, type AgentHandle } from './harness.js';

let agent: AgentHandle;
let dir: string;
const enc = encodeURIComponent;

before(async () => {
  agent = await startAgent();
  dir = mkdtempSync(join(tmpdir(), 'wxfer-'));
  mkdirSync(join(dir, 'proj/node_modules/m'), { recursive: true });
  writeFileSync(join(dir, 'proj/a.txt'), 'alpha\n');
  writeFileSync(join(dir, 'proj/-dash.txt'), 'dash\n');
  writeFileSync(join(dir, 'proj/node_modules/m/i.js'), 'x\n');
});

after(async () => {
  await agent?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function download(body: unknown): Promise<{ status: number; bytes: Buffer; type: string | null }> {
  const res = await fetch(`${agent.url}/files/transfer/download`, {
    method: 'POST',
    headers: { authorization: `Bearer ${'a'.repeat(64)}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, bytes: Buffer.from(await res.arrayBuffer()), type: res.headers.get('content-type') };
}

function upload(dest: string, body: BodyInit, chunked = false) {
  const init: RequestInit & { duplex?: string } = {
    method: 'POST',
    headers: { authorization: `Bearer ${'a'.repeat(64)}`, 'content-type': 'application/gzip' },
    body,
  };
  if (chunked) init.duplex = 'half';
  return fetch(`${agent.url}/files/transfer/upload?dest=${enc(dest)}`, init).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));
}

test('download streams a tar.gz relative to / honoring exclude_patterns', async () => {
  const r = await download({ paths: [join(dir, 'proj')], exclude_patterns: ['node_modules'] });
  assert.equal(r.status, 200);
  assert.equal(r.type, 'application/gzip');
  const archive = join(dir, 'dl.tar.gz');
  writeFileSync(archive, r.bytes);
  const names = execFileSync('tar', ['-tzf', archive]).toString().trim().split('\n').sort();
  const rel = join(dir, 'proj').slice(1);
  assert.deepEqual(names, [`${rel}/`, `${rel}/-dash.txt`, `${rel}/a.txt`]);
});

test('download errors are JSON', async () => {
  const bad = await download({ paths: ['relative'] });
  assert.equal(bad.status, 400);
  assert.equal(JSON.parse(bad.bytes.toString()).success, false);
  assert.equal((await download({ paths: [join(dir, 'nope')] })).status, 404);
  assert.equal((await download({})).status, 400);
});

test('upload extracts (content-length and chunked) and counts files', async () => {
  const archive = execFileSync('tar', ['-czf', '-', '-C', join(dir, 'proj'), '.']);
  const dest = join(dir, 'up1');
  const r = await upload(dest, archive);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(r.body, { success: true, dest, files_extracted: 3 });
  assert.equal(readFileSync(join(dest, 'a.txt'), 'utf8'), 'alpha\n');
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      for (let i = 0; i < archive.length; i += 100) c.enqueue(archive.subarray(i, i + 100));
      c.close();
    },
  });
  const r2 = await upload(join(dir, 'up2'), stream as unknown as BodyInit, true);
  assert.equal(r2.body.files_extracted, 3);
  assert.equal(readFileSync(join(dir, 'up2/-dash.txt'), 'utf8'), 'dash\n');
});

/** Builds a .tar.gz with python's tarfile (members GNU tar would refuse to create). */
function evilArchive(kind: 'abs' | 'dotdot' | 'symlink'): Buffer {
  const script = `
import tarfile, io, sys
buf = io.BytesIO()
t = tarfile.open(fileobj=buf, mode='w:gz')
def add(name, data=b'pwn'):
    i = tarfile.TarInfo(name); i.size = len(data); t.addfile(i, io.BytesIO(data))
kind = sys.argv[1]
if kind == 'abs': add(${JSON.stringify(join(dir, 'abs-escape'))})
if kind == 'dotdot': add('ok.txt'); add('../dotdot-escape')
if kind == 'symlink':
    i = tarfile.TarInfo('lnk'); i.type = tarfile.SYMTYPE; i.linkname = ${JSON.stringify(join(dir, 'outside'))}; t.addfile(i)
    add('lnk/pwned')
t.close()
sys.stdout.buffer.write(buf.getvalue())
`;
  return execFileSync('python3', ['-c', script, kind]);
}

test('upload refuses absolute and .. members and does not write through symlinks', async () => {
  const dest = join(dir, 'safe');
  const abs = await upload(dest, evilArchive('abs'));
  assert.equal(abs.status, 400);
  assert.equal(abs.body.success, false);
  assert.ok(!existsSync(join(dir, 'abs-escape')));
  const dd = await upload(dest, evilArchive('dotdot'));
  assert.equal(dd.status, 400);
  assert.ok(!existsSync(join(dir, 'dotdot-escape')));
  assert.ok(!existsSync(join(dest, 'ok.txt'))); // nothing extracted from a refused archive
  mkdirSync(join(dir, 'outside'));
  const sl = await upload(dest, evilArchive('symlink'));
  assert.equal(sl.status, 400);
  assert.ok(!existsSync(join(dir, 'outside/pwned')));
  const junk = await upload(dest, Buffer.from('not a tarball'));
  assert.equal(junk.status, 400);
  assert.equal((await upload('relative', Buffer.from('x'))).status, 400);
  const archive = execFileSync('tar', ['-czf', '-', '-C', join(dir, 'proj'), 'a.txt']);
  const onFile = await upload(join(dir, 'proj/a.txt'), archive);
  assert.equal(onFile.status, 400);
  assert.equal(onFile.body.details?.field ?? onFile.body.field, 'dest');
});
