/**
 * Opening and unpacking real archives with the real skopeo: an OCI layout directory, an
 * oci-archive and a `docker save` tar of one two-layer image (layer 2 deletes a file and
 * makes a directory opaque), each mounted as `overlay lowerdir=l2:l1`; tampered blobs and
 * things that are not image archives refused with the right code.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  describeTree, dockerSave, dockerSaveMany, layerTar, mountOverlay, ociArchive, scratch, twoLayerImage, writeLayoutDir,
  writeMultiPlatformLayout, type Scratch,
} from '../../../test/support/oci-archives.js';
import { extractLayer, openArchive } from './index.js';

const LIMITS = { maxUnpackedBytes: 64 * 1024 * 1024, maxEntries: 10_000 };
const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function refusal(p: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
  await assert.rejects(p, (err: { code?: string; message: string; details?: { field?: string } }) => {
    assert.equal(err.code, code, err.message);
    assert.equal(err.details?.field, 'archive');
    if (message) assert.match(err.message, message);
    return true;
  });
}

/** Every path of a tree, sorted. */
function paths(dir: string, rel = ''): string[] {
  return readdirSync(join(dir, rel)).sort().flatMap((n) => {
    const p = rel ? `${rel}/${n}` : n;
    return lstatSync(join(dir, p)).isDirectory() ? [p, ...paths(dir, p)] : [p];
  });
}

const MERGED = ['bin', 'bin/busybox', 'bin/sh', 'bin/su', 'data', 'data/new', 'etc', 'etc/added', 'etc/hello', 'etc/hello-link',
  'home', 'home/user', 'home/user/secret', 'tmp'];

async function openAndMount(s: Scratch, archive: string): Promise<{ merged: string; layers: string[]; src: Awaited<ReturnType<typeof openArchive>> }> {
  const src = await openArchive(archive, { workDir: join(s.dir, 'work'), limits: LIMITS });
  const layers: string[] = [];
  for (const [i, layer] of src.layers.entries()) {
    const dir = join(s.dir, `layer-${i}`);
    const r = await extractLayer(layer, dir, LIMITS);
    assert.equal(r.diffId, layer.diffId);
    layers.push(dir);
  }
  return { merged: mountOverlay(s, [...layers].reverse()), layers, src };
}

const FORMATS = [
  { format: 'oci-layout', name: 'image.tar', make: async (s: Scratch, img: Awaited<ReturnType<typeof twoLayerImage>>, p: string) => writeLayoutDir(img, p, { gzip: [0], refName: 'warren/test:1' }) },
  { format: 'oci-archive', name: 'docker-save.tar', make: async (s: Scratch, img: Awaited<ReturnType<typeof twoLayerImage>>, p: string) => writeFileSync(p, await ociArchive(img, { gzip: [0], refName: 'warren/test:1' })) },
  { format: 'docker-archive', name: 'image.oci', make: async (s: Scratch, img: Awaited<ReturnType<typeof twoLayerImage>>, p: string) => writeFileSync(p, await dockerSave(img, 'warren/test:1')) },
] as const;

for (const f of FORMATS) {
  test(`a ${f.format} of a two-layer image (misleadingly named ${f.name}) opens, verifies and unpacks; overlay shows the image`, async (t) => {
    const s = scratch(t);
    const img = await twoLayerImage();
    const archive = join(s.dir, f.name);
    await f.make(s, img, archive);
    const { merged, layers, src } = await openAndMount(s, archive);

    assert.equal(src.format, f.format);
    assert.equal(src.refName, 'warren/test:1');
    assert.deepEqual(src.layers.map((l) => l.diffId), img.layers.map(sha));
    assert.deepEqual(src.config, {
      Env: ['PATH=/bin', 'GREETING=hi'], Cmd: ['/bin/sh', '-c', 'echo hi'], WorkingDir: '/home/user', User: '1000:1000',
      ExposedPorts: { '8080/tcp': {} }, Labels: { team: 'warren' },
    });

    assert.deepEqual(paths(merged), MERGED, 'etc/gone deleted, data/old* hidden by the opaque data/');
    assert.equal(readFileSync(join(merged, 'etc/hello'), 'utf8'), 'hello\n');
    assert.equal(readFileSync(join(merged, 'data/new'), 'utf8'), 'new');
    assert.equal(readlinkSync(join(merged, 'bin/sh')), '/bin/busybox', 'absolute symlinks are normal');
    const secret = lstatSync(join(merged, 'home/user/secret'));
    assert.deepEqual([secret.uid, secret.gid, secret.mode & 0o7777, secret.mtimeMs], [1000, 1000, 0o600, 1_600_000_000_000]);
    assert.equal(lstatSync(join(merged, 'bin/su')).mode & 0o7777, 0o4755);
    assert.equal(lstatSync(join(merged, 'tmp')).mode & 0o7777, 0o1777);
    assert.equal(lstatSync(join(layers[0]!, 'etc/hello-link')).ino, lstatSync(join(layers[0]!, 'etc/hello')).ino, 'hard link kept');
    assert.ok(describeTree(layers[1]!).includes('etc/gone chr 0'), 'whiteout is a char device 0:0');
    assert.match(describeTree(layers[1]!).find((l) => l.startsWith('data '))!, /opaque$/);

    await src.dispose();
    assert.deepEqual(readdirSync(join(s.dir, 'work')), [], 'dispose removes the normalised layout');
  });
}

test('a zstd-compressed layer unpacks; its diff_id is checked like any other', async (t) => {
  const s = scratch(t);
  const img = await twoLayerImage();
  writeLayoutDir(img, join(s.dir, 'layout'), { zstd: [0, 1] });
  const { merged } = await openAndMount(s, join(s.dir, 'layout'));
  assert.deepEqual(paths(merged), MERGED);
});

test('a blob changed by one byte is refused by its digest, and nothing is left behind', async (t) => {
  const s = scratch(t);
  const img = await twoLayerImage();
  const layout = join(s.dir, 'layout');
  writeLayoutDir(img, layout);
  const blobPath = join(layout, 'blobs/sha256', sha(img.layers[0]!).slice(7));
  const good = readFileSync(blobPath);
  const bad = Buffer.from(good);
  bad[bad.indexOf('hello\n')] = 'j'.charCodeAt(0); // inside a file's content: the tar still parses
  writeFileSync(blobPath, bad);
  // a layout directory is read in place (no copy by skopeo): the layer's digest is checked as it is unpacked
  const inPlace = await openArchive(layout, { workDir: join(s.dir, 'work'), limits: LIMITS });
  await refusal(extractLayer(inPlace.layers[0]!, join(s.dir, 'layer-in-place'), LIMITS), 'IMAGE_ARCHIVE_INVALID', /digest/);
  assert.equal(existsSync(join(s.dir, 'layer-in-place')), false);
  await inPlace.dispose();
  // an oci-archive goes through skopeo, which checks every blob as it copies it
  const tarred = join(s.dir, 'tampered.tar');
  execFileSync('tar', ['-C', layout, '-cf', tarred, '.']);
  await refusal(openArchive(tarred, { workDir: join(s.dir, 'work'), limits: LIMITS }), 'IMAGE_ARCHIVE_INVALID', /digest/);
  assert.deepEqual(readdirSync(join(s.dir, 'work')), [], 'no normalised layout left');

  // changed after opening (on disk, under the opener): the unpacking's own check refuses it
  writeFileSync(blobPath, good);
  const src = await openArchive(layout, { workDir: join(s.dir, 'work'), limits: LIMITS });
  writeFileSync(src.layers[0]!.blobPath, bad);
  const dest = join(s.dir, 'layer-0');
  await refusal(extractLayer(src.layers[0]!, dest, LIMITS), 'IMAGE_ARCHIVE_INVALID', /does not match its digest/);
  assert.equal(existsSync(dest), false);
});

test("a layer whose tar is not the config's diff_id is refused", async (t) => {
  const s = scratch(t);
  const img = await twoLayerImage();
  const layout = join(s.dir, 'layout');
  writeLayoutDir(img, layout, { gzip: [0], diffIds: [sha(img.layers[1]!), sha(img.layers[1]!)] });
  const src = await openArchive(layout, { workDir: join(s.dir, 'work'), limits: LIMITS });
  const dest = join(s.dir, 'layer-0');
  await refusal(extractLayer(src.layers[0]!, dest, LIMITS), 'IMAGE_ARCHIVE_INVALID', /diff_id/);
  assert.equal(existsSync(dest), false);
});

test('what is not a usable image archive is refused with a clear code', async (t) => {
  const s = scratch(t);
  const img = await twoLayerImage();
  const open = (p: string) => openArchive(p, { workDir: join(s.dir, 'work'), limits: LIMITS });
  writeFileSync(join(s.dir, 'random.tar'), createHash('sha512').update('x').digest());
  await refusal(open(join(s.dir, 'random.tar')), 'IMAGE_ARCHIVE_INVALID');
  writeFileSync(join(s.dir, 'plain.tar'), await layerTar([{ name: 'README', content: 'not an image' }]));
  await refusal(open(join(s.dir, 'plain.tar')), 'IMAGE_ARCHIVE_INVALID', /neither/);
  mkdirSync(join(s.dir, 'emptydir'));
  await refusal(open(join(s.dir, 'emptydir')), 'IMAGE_ARCHIVE_INVALID', /not an OCI image layout/);
  writeFileSync(join(s.dir, 'image.tar.gz'), gzipSync(await ociArchive(img)));
  await refusal(open(join(s.dir, 'image.tar.gz')), 'IMAGE_ARCHIVE_UNSUPPORTED', /compressed/);
  writeFileSync(join(s.dir, 'arm.tar'), await ociArchive(img, { arch: 'arm64' }));
  await refusal(open(join(s.dir, 'arm.tar')), 'IMAGE_ARCHIVE_UNSUPPORTED', /arm64/);
  assert.deepEqual(readdirSync(join(s.dir, 'work')), [], 'refusals leave nothing in the work directory');
});

test("from a multi-platform image this host's platform (linux/amd64) is chosen, nested index or not", async (t) => {
  const s = scratch(t);
  const amd = await twoLayerImage();
  const arm = { layers: [await layerTar([{ name: 'arm-only', content: 'arm' }])], config: { Cmd: ['/arm'] } };
  for (const nested of [true, false]) {
    const layout = join(s.dir, `layout-${nested}`);
    writeMultiPlatformLayout([{ img: arm, arch: 'arm64' }, { img: amd, arch: 'amd64' }], layout, nested);
    const src = await openArchive(layout, { workDir: join(s.dir, 'work'), limits: LIMITS });
    assert.deepEqual(src.layers.map((l) => l.diffId), amd.layers.map(sha), nested ? 'nested index' : 'flat index');
    assert.deepEqual(src.config.Cmd, ['/bin/sh', '-c', 'echo hi']);
    await src.dispose();
  }
  const armOnly = join(s.dir, 'arm-only');
  writeMultiPlatformLayout([{ img: arm, arch: 'arm64' }, { img: arm, arch: 'arm' }], armOnly, true);
  await refusal(openArchive(armOnly, { workDir: join(s.dir, 'work'), limits: LIMITS }), 'IMAGE_ARCHIVE_UNSUPPORTED', /linux\/amd64/);
});

test('a docker save of several images is refused: one image per archive', async (t) => {
  const s = scratch(t);
  const img = await twoLayerImage();
  writeFileSync(join(s.dir, 'many.tar'), await dockerSaveMany([{ img, repoTag: 'a:1' }, { img, repoTag: 'b:1' }]));
  await refusal(openArchive(join(s.dir, 'many.tar'), { workDir: join(s.dir, 'work'), limits: LIMITS }), 'IMAGE_ARCHIVE_UNSUPPORTED', /2 images/);
});
