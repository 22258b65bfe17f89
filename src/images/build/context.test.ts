import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { AppError } from '../../contract/errors.js';
import { BuildContext, contextRelative, hasWildcards, type SourceMatch } from './context.js';

/** A temp dir holding `ctx/` (the context) and `outside/` (a neighbour it must not reach). */
function fixture(t: { after: (fn: () => void) => void }, files: Record<string, string>): { root: string; ctx: string } {
  const root = mkdtempSync(join(tmpdir(), 'warren-build-ctx-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const ctx = join(root, 'ctx');
  mkdirSync(ctx);
  mkdirSync(join(root, 'outside'));
  writeFileSync(join(root, 'outside', 'secret'), 'host secret');
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(dirname(join(ctx, rel)), { recursive: true });
    writeFileSync(join(ctx, rel), content);
  }
  return { root, ctx };
}

const sha = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');
const paths = (ms: SourceMatch[]) => ms.flatMap((m) => m.entries.map((e) => `${e.type[0]}:${e.path}`));

async function rejectsWith(p: Promise<unknown>, code: string, hostText?: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof AppError, String(err));
    assert.equal(err.code, code, err.message);
    if (hostText) assert.ok(!err.message.includes(hostText), `message leaks a host path: ${err.message}`);
    return true;
  });
}

test('.. climbing out of the context is BUILD_CONTEXT_ESCAPE; .. inside it is fine', async (t) => {
  const { root, ctx } = fixture(t, { 'a/b.txt': 'b', 'c.txt': 'c' });
  const bc = await BuildContext.open(ctx);
  for (const src of ['..', '../outside/secret', 'a/../../outside/secret', '/../outside/secret', '../*']) {
    await rejectsWith(bc.resolve(src), 'BUILD_CONTEXT_ESCAPE', root);
  }
  assert.deepEqual(paths(await bc.resolve('a/../c.txt')), ['f:c.txt']);
  assert.deepEqual(paths(await bc.resolve('/c.txt')), ['f:c.txt'], 'a leading / is the context root');
  assert.equal(contextRelative('./a//b/'), 'a/b');
});

test('symlinks resolving outside the context are refused, wherever they sit in the path', async (t) => {
  const { root, ctx } = fixture(t, { 'inside.txt': 'in' });
  symlinkSync(join(root, 'outside', 'secret'), join(ctx, 'abs-link'));
  symlinkSync('../outside/secret', join(ctx, 'rel-link'));
  symlinkSync('../outside', join(ctx, 'dir-link'));
  symlinkSync('/', join(ctx, 'root-link'));
  const bc = await BuildContext.open(ctx);
  for (const src of ['abs-link', 'rel-link', 'dir-link', 'dir-link/secret', 'root-link', 'dir-link/*', 'root-link/etc/passwd']) {
    await rejectsWith(bc.resolve(src), 'BUILD_CONTEXT_ESCAPE', root);
  }
});

test('a symlink inside the context is followed as a source; inside a copied directory it is kept as a link', async (t) => {
  const { root, ctx } = fixture(t, { 'real/file.txt': 'content' });
  symlinkSync('real/file.txt', join(ctx, 'link.txt'));
  symlinkSync('real', join(ctx, 'dirlink'));
  symlinkSync(join(root, 'outside', 'secret'), join(ctx, 'real', 'points-out'));
  const bc = await BuildContext.open(ctx);
  const [file] = await bc.resolve('link.txt');
  assert.equal(file?.type, 'file');
  assert.equal(file?.entries[0]?.sha256, sha('content'));
  assert.equal(file?.entries[0]?.hostPath, join(ctx, 'real', 'file.txt'));
  const [dir] = await bc.resolve('dirlink');
  assert.deepEqual(paths([dir as SourceMatch]), ['d:dirlink', 'f:dirlink/file.txt', 's:dirlink/points-out']);
  const link = dir?.entries.find((e) => e.type === 'symlink');
  assert.equal(link?.linkTarget, join(root, 'outside', 'secret'), 'copied as a link: nothing outside is read');
  assert.equal(link?.sub, 'points-out');
});

test('a symlink loop and a missing source are BUILD_SOURCE_NOT_FOUND', async (t) => {
  const { ctx } = fixture(t, {});
  symlinkSync('loop-b', join(ctx, 'loop-a'));
  symlinkSync('loop-a', join(ctx, 'loop-b'));
  const bc = await BuildContext.open(ctx);
  await rejectsWith(bc.resolve('loop-a'), 'BUILD_SOURCE_NOT_FOUND');
  await rejectsWith(bc.resolve('missing.txt'), 'BUILD_SOURCE_NOT_FOUND');
  await rejectsWith(bc.resolve('*.none'), 'BUILD_SOURCE_NOT_FOUND');
});

test('wildcards match one path component at a time, like Go filepath.Match', async (t) => {
  const { ctx } = fixture(t, { 'a.txt': '1', 'b.txt': '2', '.hidden.txt': '3', 'c.md': '4', 'sub/d.txt': '5', 'src/x.c': '6', 'src/y.h': '7', 'lib/z.c': '8', '[x].txt': '9' });
  const bc = await BuildContext.open(ctx);
  const rels = async (p: string) => (await bc.resolve(p)).map((m) => m.rel);
  assert.deepEqual(await rels('*.txt'), ['.hidden.txt', '[x].txt', 'a.txt', 'b.txt']);
  assert.deepEqual(await rels('?.txt'), ['a.txt', 'b.txt']);
  assert.deepEqual(await rels('[ab].txt'), ['a.txt', 'b.txt']);
  assert.deepEqual(await rels('[^a].txt'), ['b.txt']);
  assert.deepEqual(await rels('*/*.c'), ['lib/z.c', 'src/x.c']);
  assert.deepEqual(await rels('src/*'), ['src/x.c', 'src/y.h']);
  assert.deepEqual(await rels('\\[x\\]*'), ['[x].txt'], 'escaped brackets are literal');
  assert.deepEqual(await rels('s*'), ['src', 'sub'], 'a matched directory is one source');
  assert.ok(hasWildcards('a/*.c') && !hasWildcards('a\\*'));
});

test('.dockerignore hides paths from COPY, with ! exceptions', async (t) => {
  const { ctx } = fixture(t, {
    '.dockerignore': '# build junk\n*.log\n!keep.log\nnode_modules\nsecret/\n!secret/ok\n',
    'app.js': 'js',
    'debug.log': 'x',
    'keep.log': 'k',
    'node_modules/m/index.js': 'm',
    'secret/key': 'k',
    'secret/ok': 'ok',
    'sub/debug.log': 'sub logs are not matched by *.log at the root',
  });
  const bc = await BuildContext.open(ctx);
  const [all] = await bc.resolve('.');
  assert.deepEqual(paths([all as SourceMatch]), ['d:.', 'f:.dockerignore', 'f:app.js', 'f:keep.log', 'd:secret', 'f:secret/ok', 'd:sub', 'f:sub/debug.log']);
  await rejectsWith(bc.resolve('debug.log'), 'BUILD_SOURCE_NOT_FOUND');
  await rejectsWith(bc.resolve('node_modules'), 'BUILD_SOURCE_NOT_FOUND');
  assert.deepEqual(paths(await bc.resolve('secret')), ['d:secret', 'f:secret/ok']);
  assert.deepEqual((await bc.resolve('*.log')).map((m) => m.rel), ['keep.log']);
});

test('entries carry modes and content hashes; special files are skipped and counted', async (t) => {
  const { ctx } = fixture(t, { 'bin/run.sh': '#!/bin/sh\n', 'bin/data': 'd' });
  chmodSync(join(ctx, 'bin', 'run.sh'), 0o755);
  chmodSync(join(ctx, 'bin', 'data'), 0o600);
  execFileSync('mkfifo', [join(ctx, 'bin', 'fifo')]);
  const bc = await BuildContext.open(ctx);
  const [m] = await bc.resolve('bin');
  assert.equal(m?.skipped, 1);
  const byPath = new Map(m?.entries.map((e) => [e.path, e]));
  assert.equal(byPath.get('bin/run.sh')?.mode, 0o755);
  assert.equal(byPath.get('bin/run.sh')?.sha256, sha('#!/bin/sh\n'));
  assert.equal(byPath.get('bin/data')?.mode, 0o600);
  assert.equal(byPath.get('bin/run.sh')?.sub, 'run.sh');
});

test('archives are recognised for ADD: gzip and tar signatures, not plain files', async (t) => {
  const { root, ctx } = fixture(t, { 'plain.txt': 'hello', 'payload/x': 'x' });
  writeFileSync(join(ctx, 'a.tar.gz'), gzipSync(Buffer.from('anything')));
  execFileSync('tar', ['-cf', join(ctx, 'b.tar'), '-C', join(ctx, 'payload'), 'x']);
  const bc = await BuildContext.open(ctx);
  const archive = async (p: string) => (await bc.resolve(p, { detectArchives: true }))[0]?.entries[0]?.archive === true;
  assert.equal(await archive('a.tar.gz'), true);
  assert.equal(await archive('b.tar'), true);
  assert.equal(await archive('plain.txt'), false);
  assert.equal((await bc.resolve('b.tar'))[0]?.entries[0]?.archive, undefined, 'COPY does not ask');
  assert.ok(root);
});

test('a context that is not a directory is refused without naming it', async (t) => {
  const { root, ctx } = fixture(t, { file: 'x' });
  await rejectsWith(BuildContext.open(join(ctx, 'file')), 'validation_error', root);
  await rejectsWith(BuildContext.open(join(root, 'missing')), 'validation_error', root);
});
