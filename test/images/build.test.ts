/**
 * Real catalog builds (debootstrap and apt from deb.debian.org, once per machine, cached
 * in TEST_IMAGES_DIR) into the layer store: shared layers, the finished images' tools,
 * caching across stores, crash debris, and failure reporting.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureTestImages, testImageStore, TEST_IMAGES_DIR } from '../support/images.js';
import { ImageStore } from '../../src/images/image-store.js';
import { withImageMounted } from '../../src/images/catalog-build.js';
import type { ImageRecord } from '../../src/images/records.js';
import { runInRoot } from '../../src/images/rootfs.js';
import { isAppError } from '../../src/contract/errors.js';
import { findLeaks } from '../support/leaks.js';

let recs: Record<string, ImageRecord> = {};

before(async () => {
  const started = Date.now();
  recs = await ensureTestImages(['debian-12', 'node-20', 'python-3', 'dev']);
  process.stderr.write(`[images] ensureTestImages took ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
});

function rec(id: string): ImageRecord {
  const r = recs[id];
  assert.ok(r, `${id} was not ensured`);
  return r;
}

function deadPid(): number {
  return Number(String(spawnSync('sh', ['-c', 'echo $$']).stdout).trim());
}

function tempImagesDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'warren-images-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const inImage = <T>(id: string, fn: (root: string) => Promise<T>) =>
  withImageMounted(testImageStore().layers, rec(id).layers, fn, { writable: true });

test('layers are shared: debian-12 is the base of node-20 and python-3, which share the tools layer', () => {
  const [base] = rec('debian-12').layers;
  assert.equal(rec('debian-12').layers.length, 1);
  assert.deepEqual(rec('node-20').layers.slice(0, 2), rec('python-3').layers.slice(0, 2));
  assert.equal(rec('node-20').layers[0], base);
  assert.notEqual(rec('node-20').layers[2], rec('python-3').layers[2]);
  const store = testImageStore();
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8');
  for (const d of new Set(Object.values(recs).flatMap((r) => r.layers))) {
    const dir = store.layers.layerDir(d);
    assert.ok(statSync(dir).isDirectory(), dir);
    assert.ok(!mounts.includes(` ${dir} `), 'a layer is a plain directory, never a mount');
  }
  // The disk holds each layer once: the sum over images exceeds what the layers take.
  const distinct = new Set(Object.values(recs).flatMap((r) => r.layers)).size;
  assert.ok(distinct < Object.values(recs).reduce((n, r) => n + r.layers.length, 0));
  assert.ok(rec('debian-12').size_bytes > 50e6, `debian-12 is ${rec('debian-12').size_bytes} bytes`);
});

test('node-20 runs the host Node 20, npm and npx, and has sh, git, curl, rg and CA certificates', async () => {
  await inImage('node-20', async (root) => {
    assert.match(await runInRoot(root, ['/usr/local/bin/node', '-v']), /^v20\.\d+\.\d+$/);
    assert.match(await runInRoot(root, ['npm', '-v']), /^\d+\.\d+\.\d+$/);
    assert.match(await runInRoot(root, ['npx', '--version']), /^\d+\.\d+\.\d+$/);
    assert.equal(await runInRoot(root, ['node', '-e', 'console.log(1 + 1)']), '2');
    const tools = await runInRoot(root, ['/bin/sh', '-c', 'for t in sh git curl rg ls cat; do command -v $t; done']);
    assert.equal(tools.split('\n').length, 6, tools);
    assert.ok(existsSync(join(root, 'etc/ssl/certs/ca-certificates.crt')));
  });
});

test('python-3 has Python 3.11 with pip and venv, and no Node', async () => {
  await inImage('python-3', async (root) => {
    assert.match(await runInRoot(root, ['python3', '--version']), /^Python 3\.11\./);
    assert.match(await runInRoot(root, ['python3', '-m', 'pip', '--version']), /^pip /);
    await runInRoot(root, ['python3', '-m', 'venv', '/tmp/venv']);
    assert.ok(existsSync(join(root, 'tmp/venv/bin/python')));
    assert.ok(!existsSync(join(root, 'usr/local/bin/node')));
  });
});

test('dev stacks python and node on the shared layers and adds a C toolchain and OpenSSH', async () => {
  const dev = rec('dev');
  assert.deepEqual(dev.layers.slice(0, 3), rec('python-3').layers, 'the python image\'s layers, shared');
  assert.equal(dev.layers[3], rec('node-20').layers[2], 'the node layer, shared');
  await inImage('dev', async (root) => {
    await runInRoot(root, ['/bin/sh', '-c', 'printf "int main(void){return 0;}" > /tmp/t.c && gcc -o /tmp/t /tmp/t.c && /tmp/t']);
    assert.match(await runInRoot(root, ['make', '--version']), /GNU Make/);
    assert.match(await runInRoot(root, ['node', '-v']), /^v20\./);
    assert.match(await runInRoot(root, ['python3', '--version']), /^Python 3\.11/);
    assert.match(await runInRoot(root, ['rg', '--version']), /ripgrep/);
    assert.ok(existsSync(join(root, 'usr/sbin/sshd')));
    assert.deepEqual(readdirSync(join(root, 'etc/ssh')).filter((n) => n.startsWith('ssh_host_')), [], 'no shared host keys');
  });
});

test('debian-12 has a POSIX shell and coreutils, and no apt caches, package lists or host keys in any layer', async () => {
  await inImage('debian-12', async (root) => {
    assert.equal(await runInRoot(root, ['/bin/sh', '-c', 'echo hi | tr a-z A-Z']), 'HI');
    assert.match(await runInRoot(root, ['ls', '--version']), /coreutils/);
    assert.match(readFileSync(join(root, 'etc/debian_version'), 'utf8'), /^12\./);
    assert.ok(!existsSync(join(root, 'usr/local/bin/node')), 'debian-12 carries no node');
  });
  for (const id of ['debian-12', 'node-20', 'python-3', 'dev']) {
    await inImage(id, async (r) => {
      assert.deepEqual(readdirSync(join(r, 'var/lib/apt/lists')).filter((n) => n !== 'partial' && n !== 'lock' && n !== 'auxfiles'), []);
      assert.deepEqual(readdirSync(join(r, 'var/cache/apt/archives')).filter((n) => n.endsWith('.deb')), []);
      assert.equal(statSync(join(r, 'tmp')).mode & 0o7777, 0o1777);
      assert.ok(!existsSync(join(r, 'usr/sbin/policy-rc.d')), `${id}: the build's policy-rc.d is gone`);
      assert.ok(existsSync(join(r, 'etc/hostname')) && existsSync(join(r, 'etc/resolv.conf')));
    });
  }
});

test('a second ensure does not rebuild (fresh store, fast, same image)', async () => {
  const store = new ImageStore({ imagesDir: TEST_IMAGES_DIR });
  const t0 = Date.now();
  assert.equal((await store.ensure('node-20')).id, rec('node-20').id);
  assert.equal((await store.ensure('oblien/node:20')).id, rec('node-20').id, 'the image ref works too');
  assert.ok(Date.now() - t0 < 3000, `took ${Date.now() - t0} ms`);
});

test('sweep removes staging dirs of dead processes and layers no image uses, and keeps the rest', async () => {
  const store = new ImageStore({ imagesDir: TEST_IMAGES_DIR });
  const debris = join(TEST_IMAGES_DIR, '.staging', `${deadPid()}-crashed-0`);
  mkdirSync(join(debris, 'layer/etc'), { recursive: true });
  const orphan = join(TEST_IMAGES_DIR, 'layers', 'f'.repeat(64));
  mkdirSync(join(orphan, 'etc'), { recursive: true });
  try {
    const swept = await store.layers.sweep();
    assert.ok(swept.staging.some((s) => debris.endsWith(s)));
    assert.ok(swept.layers.includes(`sha256:${'f'.repeat(64)}`));
    assert.equal(existsSync(debris), false);
    assert.equal(existsSync(orphan), false);
    for (const r of Object.values(recs)) for (const d of r.layers) assert.ok(store.layers.hasLayer(d), d);
  } finally {
    rmSync(debris, { recursive: true, force: true });
    rmSync(orphan, { recursive: true, force: true });
  }
});

test('the store lists the catalog with build state and source, filters, and resolves ids and refs', async () => {
  const store = new ImageStore({ imagesDir: TEST_IMAGES_DIR });
  const all = await store.list();
  const node = all.find((i) => i.id === 'node-20');
  assert.ok(node);
  assert.equal(node.status, 'ready');
  assert.equal(node.built, true);
  assert.equal(node.source, 'catalog');
  assert.equal(node.digest, rec('node-20').id);
  assert.equal(node.image, 'oblien/node:20');
  assert.equal('recipe' in node, false, 'build recipe is not on the wire');
  assert.deepEqual(all.map((i) => i.id).filter((id) => ['debian-12', 'node-20', 'python-3', 'dev'].includes(id)).sort(),
    ['debian-12', 'dev', 'node-20', 'python-3']);
  assert.deepEqual((await store.list({ category: 'os' })).map((i) => i.id), ['debian-12']);
  assert.ok((await store.list({ search: 'ripgrep', category: 'runtime' })).map((i) => i.id).includes('node-20'));
  assert.equal((await store.resolve('debian:12'))?.name, 'debian-12');
  assert.equal((await store.resolve('python:3.11'))?.name, 'python-3');
  assert.equal((await store.resolve(rec('node-20').id))?.image?.id, rec('node-20').id, 'a stored image by its id');
  assert.ok(store.categories().some((c) => c.id === 'database'));
  await assert.rejects(store.ensure('nope'), (e) => isAppError(e) && e.code === 'INVALID_IMAGE');
});

test('an empty store reports not_built', async (t) => {
  const store = new ImageStore({ imagesDir: tempImagesDir(t) });
  assert.ok((await store.list()).every((i) => i.status === 'not_built' && !i.built));
  assert.equal((await store.resolve('debian-12'))?.image, null);
});

test('a failed build is reported without internals, leaves no debris, and concurrent ensures share one attempt', async (t) => {
  const dir = tempImagesDir(t);
  const lines: string[] = [];
  // Port 9 on loopback refuses connections: debootstrap fails fast without touching the internet.
  const store = new ImageStore({ imagesDir: dir, mirror: 'http://127.0.0.1:9/debian', onProgress: (p) => lines.push(p.message) });
  const first = store.ensure('debian-12');
  const second = store.ensure('debian:12');
  let status = await store.status('debian-12');
  for (let i = 0; i < 100 && status === 'not_built'; i++) status = await new Promise((r) => setTimeout(r, 10)).then(() => store.status('debian-12'));
  assert.equal(status, 'building');
  await assert.rejects(first, /debootstrap failed/);
  await assert.rejects(second, /debootstrap failed/);
  assert.equal(await store.status('debian-12'), 'failed');
  const item = (await store.list({ search: 'debian-12' }))[0];
  assert.equal(item?.status, 'failed');
  assert.ok(item?.error && !item.error.includes(dir), 'no host path in the listed error');
  assert.equal(item?.error_code, 'image_build_failed');
  assert.deepEqual(findLeaks({ error: item?.error }, { dataDirs: [dir] }), [], 'no debootstrap output, command line or path');
  assert.deepEqual(readdirSync(join(dir, '.staging')), [], 'no staging dir left');
  assert.deepEqual(readdirSync(join(dir, 'layers')), [], 'no layer left');
  assert.ok(lines.some((l) => l.startsWith('debootstrap ')), 'progress was reported');
});
