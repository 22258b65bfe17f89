/**
 * Real image builds (debootstrap from deb.debian.org, once per machine, cached in
 * TEST_IMAGES_DIR) and the image store's caching, locking and failure behaviour.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureTestImages, TEST_IMAGES_DIR } from '../support/images.js';
import { ImageStore } from '../../src/images/image-store.js';
import { buildImage, lockPath, readManifest } from '../../src/images/builder.js';
import { chrootRun } from '../../src/images/rootfs.js';
import { isAppError } from '../../src/contract/errors.js';

let roots: Record<string, string> = {};

before(async () => {
  const started = Date.now();
  roots = await ensureTestImages(['node-20', 'debian-12']);
  process.stderr.write(`[images] ensureTestImages took ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
});

function rootOf(id: string): string {
  const dir = roots[id];
  assert.ok(dir, `${id} was not ensured`);
  return dir;
}

function deadPid(): number {
  return Number(String(spawnSync('sh', ['-c', 'echo $$']).stdout).trim());
}

function tempImagesDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'warren-images-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('layout: <dir>/<id>/rootfs is a plain directory next to manifest.json', async () => {
  for (const id of ['node-20', 'debian-12']) {
    assert.equal(rootOf(id), join(TEST_IMAGES_DIR, id, 'rootfs'));
    assert.ok(statSync(rootOf(id)).isDirectory());
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8');
    assert.ok(!mounts.includes(` ${rootOf(id)} `), `${id} rootfs must not be a mount`);
    const m = await readManifest(TEST_IMAGES_DIR, id);
    assert.equal(m.id, id);
    assert.ok(m.size_bytes > 50e6, `${id} size ${m.size_bytes}`);
    assert.ok(m.packages.includes('coreutils') && m.packages.includes('dash'));
    assert.ok(!Number.isNaN(Date.parse(m.built_at)));
    process.stderr.write(`[images] ${id}: built in ${(m.build_ms / 1000).toFixed(1)} s, ${(m.size_bytes / 1e6).toFixed(0)} MB\n`);
  }
  assert.deepEqual(readdirSync(TEST_IMAGES_DIR).filter((n) => n.startsWith('.build-')), [], 'no half-built dirs');
});

test('node-20 runs the host Node 20, npm and npx, and has sh, git, curl, rg and CA certificates', async () => {
  const root = rootOf('node-20');
  assert.match(await chrootRun(root, ['/usr/local/bin/node', '-v']), /^v20\.\d+\.\d+$/);
  assert.match(await chrootRun(root, ['npm', '-v']), /^\d+\.\d+\.\d+$/);
  assert.match(await chrootRun(root, ['npx', '--version']), /^\d+\.\d+\.\d+$/);
  assert.equal(await chrootRun(root, ['node', '-e', 'console.log(1 + 1)']), '2');
  const tools = await chrootRun(root, ['/bin/sh', '-c', 'for t in sh git curl rg ls cat; do command -v $t; done']);
  assert.equal(tools.split('\n').length, 6, tools);
  assert.match(await chrootRun(root, ['git', '--version']), /^git version 2\./);
  assert.ok(existsSync(join(root, 'etc/ssl/certs/ca-certificates.crt')));
  const m = await readManifest(TEST_IMAGES_DIR, 'node-20');
  assert.match(m.node_version ?? '', /^v20\./);
  assert.match(m.npm_version ?? '', /^\d+\./);
  assert.ok(!existsSync(join(root, 'root/.npm')), 'no npm logs left from verification');
});

test('debian-12 has a POSIX shell and coreutils, and clean apt state', async () => {
  const root = rootOf('debian-12');
  assert.equal(await chrootRun(root, ['/bin/sh', '-c', 'echo hi | tr a-z A-Z']), 'HI');
  assert.match(await chrootRun(root, ['ls', '--version']), /coreutils/);
  assert.match(readFileSync(join(root, 'etc/debian_version'), 'utf8'), /^12\./);
  assert.ok(!existsSync(join(root, 'usr/local/bin/node')), 'debian-12 carries no node');
  for (const id of ['node-20', 'debian-12']) {
    const r = rootOf(id);
    assert.deepEqual(readdirSync(join(r, 'var/lib/apt/lists')).filter((n) => n !== 'partial' && n !== 'lock'), []);
    assert.deepEqual(readdirSync(join(r, 'var/cache/apt/archives')).filter((n) => n.endsWith('.deb')), []);
    assert.equal(statSync(join(r, 'tmp')).mode & 0o7777, 0o1777);
    assert.ok(statSync(join(r, 'root')).isDirectory());
    assert.ok(existsSync(join(r, 'etc/hostname')) && existsSync(join(r, 'etc/resolv.conf')));
  }
});

test('a second ensure does not rebuild (fresh store, fast, same manifest)', async () => {
  const before = await readManifest(TEST_IMAGES_DIR, 'node-20');
  const store = new ImageStore({ imagesDir: TEST_IMAGES_DIR });
  const t0 = Date.now();
  assert.equal(await store.ensure('node-20'), rootOf('node-20'));
  assert.equal(await store.ensure('oblien/node:20'), rootOf('node-20'), 'the image ref works too');
  const viaBuilder = await buildImage('debian-12', { imagesDir: TEST_IMAGES_DIR });
  assert.equal(viaBuilder.built, false);
  assert.ok(Date.now() - t0 < 3000, `took ${Date.now() - t0} ms`);
  assert.equal((await readManifest(TEST_IMAGES_DIR, 'node-20')).built_at, before.built_at);
});

test('a stale lock from a dead pid is taken over, and a half-built dir is removed', async () => {
  const lock = lockPath(TEST_IMAGES_DIR, 'debian-12');
  const stalePid = deadPid();
  writeFileSync(lock, `${stalePid} 1\n`, { flag: 'wx' }); // fails loudly if someone really holds it
  const debris = join(TEST_IMAGES_DIR, `.build-debian-12-${deadPid()}-crashed`);
  mkdirSync(join(debris, 'rootfs/etc'), { recursive: true });
  try {
    const t0 = Date.now();
    const result = await buildImage('debian-12', { imagesDir: TEST_IMAGES_DIR });
    assert.equal(result.built, false);
    assert.ok(Date.now() - t0 < 5000, `took ${Date.now() - t0} ms`);
    assert.equal(existsSync(lock), false, 'lock released');
    assert.equal(existsSync(debris), false, 'half-built dir removed');
  } finally {
    rmSync(debris, { recursive: true, force: true });
    if (existsSync(lock) && readFileSync(lock, 'utf8').startsWith(`${stalePid} `)) rmSync(lock);
  }
});

test('store lists the catalog with build state, filters, and resolves ids and refs', async () => {
  const store = new ImageStore({ imagesDir: TEST_IMAGES_DIR });
  const all = await store.list();
  const node = all.find((i) => i.id === 'node-20');
  assert.ok(node);
  assert.equal(node.status, 'ready');
  assert.equal(node.built, true);
  assert.equal(node.image, 'oblien/node:20');
  assert.equal('recipe' in node, false, 'build recipe is not on the wire');
  assert.deepEqual((await store.list({ category: 'os' })).map((i) => i.id), ['debian-12']);
  assert.deepEqual((await store.list({ search: 'ripgrep', category: 'runtime' })).map((i) => i.id).includes('node-20'), true);
  assert.equal(store.resolve('debian:12')?.id, 'debian-12');
  assert.equal(store.rootfs('debian:12'), rootOf('debian-12'));
  assert.ok(store.categories().some((c) => c.id === 'database'));
  assert.throws(() => store.rootfs('oblien/node:24'), (e) => isAppError(e) && e.code === 'INVALID_IMAGE');
  await assert.rejects(store.ensure('nope'), (e) => isAppError(e) && e.code === 'INVALID_IMAGE');
});

test('an empty store reports not_built, and rootfs() refuses to build', async (t) => {
  const store = new ImageStore({ imagesDir: tempImagesDir(t) });
  assert.ok((await store.list()).every((i) => i.status === 'not_built' && !i.built));
  assert.equal(store.isBuilt('debian-12'), false);
  assert.throws(() => store.rootfs('debian-12'), /not built/);
});

test('a failed build is reported, leaves no debris, and concurrent ensures share one attempt', async (t) => {
  const dir = tempImagesDir(t);
  const lines: string[] = [];
  // Port 9 on loopback refuses connections: debootstrap fails fast without touching the internet.
  const store = new ImageStore({ imagesDir: dir, mirror: 'http://127.0.0.1:9/debian', onProgress: (p) => lines.push(p.message) });
  const first = store.ensure('debian-12');
  const second = store.ensure('debian:12');
  assert.equal(first, second, 'in-process dedupe');
  assert.equal(await store.status('debian-12'), 'building');
  await assert.rejects(first, /debootstrap of debian-12 failed/);
  assert.equal(await store.status('debian-12'), 'failed');
  const item = (await store.list({ search: 'debian-12' }))[0];
  assert.equal(item?.status, 'failed');
  assert.match(item?.error ?? '', /debootstrap/);
  assert.deepEqual(readdirSync(dir).filter((n) => !n.startsWith('.debs')), [], 'no build dir, image dir or lock left');
  assert.ok(lines.some((l) => l.startsWith('debootstrap ')), 'progress was reported');
});
