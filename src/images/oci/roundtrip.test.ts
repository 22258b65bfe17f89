/**
 * Export and re-import: a layer directory packs to the same bytes every time; an exported
 * oci-archive is accepted by the real skopeo (inspect, and copy to docker-archive, which is
 * what `docker load` reads); opening the export gives the same layer digests and unpacks to
 * the same trees, and exporting those again gives the same digests.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, linkSync, lstatSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { describeTree, scratch, twoLayerImage, writeLayoutDir, type Scratch } from '../../../test/support/oci-archives.js';
import { extractLayer, fromImageConfig, openArchive, packLayer, toImageConfig, writeOciArchive, type OciSource } from './index.js';

const LIMITS = { maxUnpackedBytes: 64 * 1024 * 1024, maxEntries: 10_000 };

async function digestOf(stream: Readable): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of stream) h.update(chunk as Buffer);
  return `sha256:${h.digest('hex')}`;
}

async function bytesOf(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

async function unpackAll(s: Scratch, src: OciSource, prefix: string): Promise<string[]> {
  const dirs: string[] = [];
  for (const [i, l] of src.layers.entries()) {
    const dir = join(s.dir, `${prefix}-${i}`);
    await extractLayer(l, dir, LIMITS);
    dirs.push(dir);
  }
  return dirs;
}

test('pack, export, skopeo, re-import: same digests, same trees', async (t) => {
  const s = scratch(t);
  writeLayoutDir(await twoLayerImage(), join(s.dir, 'layout'), { gzip: [0] });
  const original = await openArchive(join(s.dir, 'layout'), { workDir: join(s.dir, 'work'), limits: LIMITS });
  const dirs = await unpackAll(s, original, 'orig');

  for (const dir of dirs) assert.equal(await digestOf(packLayer(dir)), await digestOf(packLayer(dir)), 'packing is deterministic');
  const tarList = execFileSync('tar', ['-tvf', '-'], { input: await bytesOf(packLayer(dirs[1]!)), encoding: 'utf8' });
  assert.match(tarList, /etc\/\.wh\.gone/, 'whiteout back to .wh.');
  assert.match(tarList, /data\/\.wh\.\.wh\.\.opq/, 'opaque mark back to .wh..wh..opq');

  const out = join(s.dir, 'export.tar');
  const exported = await writeOciArchive({ layers: dirs.map((dir) => ({ dir })), config: original.config, refName: 'warren/roundtrip:1' }, out);
  assert.equal(exported.layers.length, 2);

  const inspect = JSON.parse(execFileSync('skopeo', ['inspect', `oci-archive:${out}`], { encoding: 'utf8' })) as { Layers: string[]; Env: string[]; Labels: Record<string, string> };
  assert.deepEqual(inspect.Layers, exported.layers);
  assert.deepEqual(inspect.Env, original.config.Env);
  assert.deepEqual(inspect.Labels, original.config.Labels);
  execFileSync('skopeo', ['--insecure-policy', 'copy', '-q', `oci-archive:${out}`, `docker-archive:${join(s.dir, 'docker.tar')}:warren/roundtrip:1`]);

  const again = await openArchive(out, { workDir: join(s.dir, 'work'), limits: LIMITS });
  assert.equal(again.refName, 'warren/roundtrip:1');
  assert.deepEqual(again.layers.map((l) => l.diffId), exported.layers);
  assert.deepEqual(again.config, original.config);
  const back = await unpackAll(s, again, 'back');
  for (const [i, dir] of back.entries()) assert.deepEqual(describeTree(dir), describeTree(dirs[i]!), `layer ${i} unpacks to the same tree`);

  const docker = await openArchive(join(s.dir, 'docker.tar'), { workDir: join(s.dir, 'work'), limits: LIMITS });
  assert.equal(docker.format, 'docker-archive');
  assert.deepEqual(docker.layers.map((l) => l.diffId), exported.layers, 'the docker-archive skopeo made has the same layers');

  const second = await writeOciArchive({ layers: back.map((dir) => ({ dir })), config: again.config, refName: 'warren/roundtrip:1' }, join(s.dir, 'export2.tar'));
  assert.deepEqual(second, exported, 'export → import → export is stable, manifest included');
});

test("the store's ImageConfig converts to OCI fields and back", () => {
  const oci = { Env: ['A=1'], WorkingDir: '/w', Entrypoint: ['/e'], Cmd: ['c'], User: '1:1', ExposedPorts: { '80/tcp': {} }, Labels: { a: 'b' } };
  assert.deepEqual(fromImageConfig(toImageConfig(oci)), oci);
  assert.deepEqual(toImageConfig({ Env: [], ExposedPorts: {}, Labels: {} }), { env: [], exposedPorts: [], labels: {} });
});

test('a failed export leaves no file', async (t) => {
  const s = scratch(t);
  const out = join(s.dir, 'out.tar');
  await assert.rejects(writeOciArchive({ layers: [{ dir: join(s.dir, 'missing') }], config: { Env: [], ExposedPorts: {}, Labels: {} } }, out));
  assert.equal(existsSync(out), false);
  writeFileSync(out, 'previous');
  await assert.rejects(writeOciArchive({ layers: [{ dir: join(s.dir, 'missing') }], config: { Env: [], ExposedPorts: {}, Labels: {} } }, out));
  assert.deepEqual(readdirSync(s.dir), ['out.tar'], 'the previous file stays, no partial file next to it');
});

test('packing keeps long names, big ids, mode 000, FIFOs, hard links and large files; leaves device nodes out', async (t) => {
  const s = scratch(t);
  const dir = join(s.dir, 'layer');
  const long = `${'d'.repeat(90)}/${'n'.repeat(120)}`;
  mkdirSync(join(dir, 'dev'), { recursive: true });
  mkdirSync(join(dir, long, '..'), { recursive: true });
  writeFileSync(join(dir, long), 'long name');
  writeFileSync(join(dir, 'big'), Buffer.alloc(300 * 1024, 7));
  writeFileSync(join(dir, 'owned'), 'x');
  chownSync(join(dir, 'owned'), 3_000_000, 3_000_001);
  writeFileSync(join(dir, 'locked'), 'y');
  chmodSync(join(dir, 'locked'), 0);
  linkSync(join(dir, 'big'), join(dir, 'big-link'));
  execFileSync('mknod', [join(dir, 'dev/null'), 'c', '1', '3']);
  execFileSync('mknod', [join(dir, 'gone'), 'c', '0', '0']);
  execFileSync('mkfifo', [join(dir, 'pipe')]);

  const tarBytes = await bytesOf(packLayer(dir));
  const digest = `sha256:${createHash('sha256').update(tarBytes).digest('hex')}`;
  writeFileSync(join(s.dir, 'layer.tar'), tarBytes);
  const layer = { digest, diffId: digest, size: tarBytes.length, mediaType: 'application/vnd.oci.image.layer.v1.tar', blobPath: join(s.dir, 'layer.tar') };
  const back = join(s.dir, 'back');
  await extractLayer(layer, back, LIMITS);
  const expected = describeTree(dir).filter((l) => !l.startsWith('dev/null'));
  assert.deepEqual(describeTree(back), expected, 'same tree, without the device node');
  assert.ok(expected.includes('gone chr 0') && expected.some((l) => l.startsWith('owned 644 3000000:3000001')));
  assert.equal(lstatSync(join(back, 'big-link')).ino, lstatSync(join(back, 'big')).ino);
  assert.equal(await digestOf(packLayer(back)), digest, 'the unpacked copy packs to the same digest');
});
