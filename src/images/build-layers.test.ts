/**
 * The build's layers on a real layer store in a temporary directory: COPY destinations
 * resolved inside the image (never the host), --chown from the image's passwd, ADD of an
 * archive without its device files, WORKDIR that exists changes nothing, a RUN layer
 * without the sandbox's own traces; holds keep layers alive across a sweep; the step
 * cache forgets states whose layers went.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { LayerStore } from './layer-store.js';
import { BuildHolds, sweepHolds } from './build-holds.js';
import { StepCache } from './build-cache.js';
import { filesLayer, runLayer } from './build-layers.js';
import { resolveInImage } from './image-paths.js';
import { digestLayerDir } from './layer-digest.js';
import { EMPTY_CONFIG, imageIdOf } from './records.js';
import type { BuildState } from './build/types.js';

const root = mkdtempSync(join(tmpdir(), 'warren-build-layers-'));
after(() => rmSync(root, { recursive: true, force: true }));
const store = new LayerStore(join(root, 'images'));
const signal = new AbortController().signal;

/** A base layer: /bin -> usr/bin, /etc/passwd with user app (1000), an absolute link to the host's /etc. */
async function baseState(): Promise<BuildState> {
  const dir = join(root, `base-${Math.random().toString(36).slice(2)}`);
  mkdirSync(join(dir, 'usr/bin'), { recursive: true });
  mkdirSync(join(dir, 'etc'), { recursive: true });
  mkdirSync(join(dir, 'srv'), { mode: 0o750 });
  execFileSync('chown', ['1000:1000', join(dir, 'srv')]);
  symlinkSync('usr/bin', join(dir, 'bin'));
  symlinkSync('/etc', join(dir, 'hostetc'));
  writeFileSync(join(dir, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n');
  writeFileSync(join(dir, 'etc/group'), 'root:x:0:\napp:x:1000:\nstaff:x:50:\n');
  const digest = await digestLayerDir(dir);
  const state = { layers: [digest], config: { ...EMPTY_CONFIG } };
  await store.locked(async () => {
    await store.commitLayer(dir, digest);
    await store.putImage({ id: imageIdOf(state.layers, state.config), source: 'imported', layers: state.layers, config: state.config, created_at: '', size_bytes: 0 }, ['base']);
  });
  return state;
}

function context(files: Record<string, string>): string {
  const dir = mkdtempSync(join(root, 'ctx-'));
  for (const [p, c] of Object.entries(files)) {
    mkdirSync(join(dir, p, '..'), { recursive: true });
    writeFileSync(join(dir, p), c, { mode: 0o755 });
  }
  return dir;
}

test('paths resolve inside the image: relative and absolute links stay in its root', async () => {
  const base = await baseState();
  const img = store.layerDir(base.layers[0]!);
  assert.equal((await resolveInImage(img, '/bin/tool', true)).path, '/usr/bin/tool');
  assert.equal((await resolveInImage(img, '/hostetc/passwd', true)).path, '/etc/passwd', 'an absolute link restarts at the image\'s root');
  assert.equal((await resolveInImage(img, '/bin/../../../x', true)).path, '/x');
  assert.equal((await resolveInImage(img, '/bin', false)).path, '/bin', 'a last link is kept when not followed');
});

test('COPY through /bin -> usr/bin and /hostetc -> /etc writes into the image\'s directories, with --chown from its passwd', async () => {
  const base = await baseState();
  const ctx = context({ tool: '#!/bin/sh\n', 'conf.txt': 'c\n' });
  const holds = new BuildHolds(store);
  const layer = await filesLayer({ store, holds }, base, [
    { kind: 'file', hostPath: join(ctx, 'tool'), dest: '/bin/tool', mode: 0o755 },
    { kind: 'file', hostPath: join(ctx, 'conf.txt'), dest: '/hostetc/conf.txt', mode: 0o644 },
    { kind: 'dir', dest: '/srv/app', mode: 0o755 },
    { kind: 'symlink', dest: '/srv/app/link', target: '../../etc/passwd' },
  ], { chown: 'app:staff', signal });
  assert.ok(layer);
  const dir = store.layerDir(layer);
  const tool = lstatSync(join(dir, 'usr/bin/tool'));
  assert.equal(tool.mode & 0o7777, 0o755);
  assert.deepEqual([tool.uid, tool.gid], [1000, 50]);
  assert.equal(existsSync(join(dir, 'bin')), false, 'the image\'s /bin link is not replaced');
  assert.equal(readFileSync(join(dir, 'etc/conf.txt'), 'utf8'), 'c\n', 'the host\'s /etc is never written');
  assert.equal(existsSync('/etc/conf.txt') && readFileSync('/etc/conf.txt', 'utf8') === 'c\n', false);
  const srv = lstatSync(join(dir, 'srv'));
  assert.deepEqual([srv.mode & 0o7777, srv.uid], [0o750, 1000], 'a directory of the image keeps its attributes');
  assert.equal(readlinkSync(join(dir, 'srv/app/link')), '../../etc/passwd');
  await holds.release();
});

test('a WORKDIR that exists changes nothing; --chown of an unknown user is a step failure', async () => {
  const base = await baseState();
  const holds = new BuildHolds(store);
  assert.equal(await filesLayer({ store, holds }, base, [{ kind: 'dir', dest: '/srv', mode: 0o755 }], { signal }), null);
  await assert.rejects(filesLayer({ store, holds }, base, [{ kind: 'dir', dest: '/x', mode: 0o755 }], { chown: 'nobody', signal }),
    (err: any) => err.code === 'BUILD_STEP_FAILED' && /nobody/.test(err.message));
  await holds.release();
});

test('ADD of a gzip archive extracts it under the destination, without its device files', async () => {
  const base = await baseState();
  const src = mkdtempSync(join(root, 'arc-'));
  mkdirSync(join(src, 'pkg/lib'), { recursive: true });
  writeFileSync(join(src, 'pkg/lib/a.so'), 'lib');
  execFileSync('mknod', [join(src, 'pkg/null'), 'c', '1', '3']);
  const ctx = context({});
  execFileSync('tar', ['-C', src, '-czf', join(ctx, 'pkg.tgz'), 'pkg']);
  const holds = new BuildHolds(store);
  const layer = await filesLayer({ store, holds }, base, [{ kind: 'archive', hostPath: join(ctx, 'pkg.tgz'), dest: '/opt' }], { signal });
  const dir = store.layerDir(layer!);
  assert.equal(readFileSync(join(dir, 'opt/pkg/lib/a.so'), 'utf8'), 'lib');
  assert.equal(existsSync(join(dir, 'opt/pkg/null')), false);
  await holds.release();
});

test('a RUN layer leaves out /.warren, Warren\'s resolv.conf and directories that only were copied up', async () => {
  const base = await baseState();
  const upper = mkdtempSync(join(root, 'upper-'));
  mkdirSync(join(upper, '.warren'));
  mkdirSync(join(upper, 'etc'));
  writeFileSync(join(upper, 'etc/resolv.conf'), '# Written by Warren: the workspace resolver (…)\nnameserver 10.0.0.1\n');
  mkdirSync(join(upper, 'srv'), { mode: 0o750 });
  execFileSync('chown', ['1000:1000', join(upper, 'srv')]);
  const holds = new BuildHolds(store);
  const tar = () => Readable.from([execFileSync('tar', ['-C', upper, '--numeric-owner', '-cf', '-', '.'])]);
  assert.equal(await runLayer({ store, holds }, base, tar()), null, 'nothing of the step\'s own');
  appendFileSync(join(upper, 'etc/motd'), 'hi\n');
  const layer = await runLayer({ store, holds }, base, tar());
  const dir = store.layerDir(layer!);
  assert.deepEqual(execFileSync('find', ['.'], { cwd: dir, encoding: 'utf8' }).trim().split('\n').sort(), ['.', './etc', './etc/motd']);
  await holds.release();
});

test('holds keep a build\'s layers through a sweep; a dead owner\'s holds are swept; the cache forgets lost states', async () => {
  const base = await baseState();
  const ctx = context({ f: 'x' });
  const holds = new BuildHolds(store);
  const layer = await filesLayer({ store, holds }, base, [{ kind: 'file', hostPath: join(ctx, 'f'), dest: '/f', mode: 0o644 }], { signal });
  const state = { layers: [...base.layers, layer!], config: base.config };
  const cache = new StepCache(store);
  await cache.put('sha256:key', state);
  await store.locked(() => store.removeImage('sha256:' + '0'.repeat(64))); // any removal sweeps unused layers
  assert.ok(store.hasLayer(layer!), 'held');
  assert.deepEqual(await cache.get('sha256:key'), state);
  assert.equal(await sweepHolds(store), 0, 'the owner lives');
  await holds.release();
  assert.equal(store.hasLayer(layer!), false, 'released: nothing else uses it');
  assert.equal(await cache.get('sha256:key'), null);

  const dead = new BuildHolds(store);
  Object.defineProperty(dead, 'owner', { value: '999999999:1-abc' });
  await dead.hold(base);
  assert.equal(await sweepHolds(store), 1);
});
