/**
 * Importing images with the real server (issue 12): an OCI layout directory, an OCI tar
 * and a `docker save` tar made by the test import, dedupe layers already stored, and a
 * workspace created from them with the official client runs the image's Cmd with its
 * Env and WorkingDir, whiteouts applied. Paths outside the operator's directories and
 * malicious archives are refused with a code and leave nothing behind; a kill -9
 * mid-import lists no half image.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, api, startServer, type TestServer } from '../support/warren.js';
import { ensureTestImages, testImageStore } from '../support/images.js';
import { adminClient, openRuntime, type Client } from '../support/workspaces.js';
import { tarDirectory, writeDockerSave, writeOciLayout, type FixtureConfig } from '../support/oci-fixtures.js';

let server: TestServer;
let client: Client;
const tag = randomBytes(3).toString('hex');
const work = mkdtempSync(join(tmpdir(), 'warren-import-'));
const allowed = join(work, 'allowed');
const outside = join(work, 'outside');
const made: string[] = [];
let baseLayer = '';

const CONFIG: FixtureConfig = {
  Env: ['GREETING=imported', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
  WorkingDir: '/opt/app', Cmd: ['/bin/sh', '/opt/app/run.sh'],
};

/** The app layer: a script, a config file, and an OCI whiteout deleting the base's /etc/motd. */
function appLayer(dir: string, word: string): string {
  mkdirSync(join(dir, 'opt/app'), { recursive: true });
  mkdirSync(join(dir, 'etc'), { recursive: true });
  writeFileSync(join(dir, 'opt/app/run.sh'), `echo "$GREETING ${word} in $(pwd)" > /tmp/out\nexec sleep 600\n`);
  writeFileSync(join(dir, 'etc/app.conf'), `${word}\n`);
  writeFileSync(join(dir, 'etc/.wh.motd'), '');
  return dir;
}

before(async () => {
  const debian = (await ensureTestImages(['debian-12']))['debian-12']!;
  baseLayer = debian.layers[0]!;
  mkdirSync(allowed, { recursive: true });
  mkdirSync(outside, { recursive: true });
  server = await startServer({ env: { WARREN_RATE_LIMIT: '0', WARREN_IMAGE_IMPORT_DIRS: allowed, WARREN_IMAGE_LAYER_MB: '256' } });
  client = adminClient(server);
});
after(async () => {
  for (const w of (await api(server, 'GET', '/workspace?limit=100')).body?.workspaces ?? []) await api(server, 'DELETE', `/workspace/${w.id}`);
  for (const name of made) await api(server, 'DELETE', `/images/${name}`);
  await server?.stop();
  rmSync(work, { recursive: true, force: true });
});

async function upload(file: string, name: string) {
  const res = await fetch(`${server.url}/images?name=${encodeURIComponent(name)}`, {
    method: 'POST', body: readFileSync(file),
    headers: { 'content-type': 'application/x-tar', 'x-client-id': 'test-admin', 'x-client-secret': 'test-secret-0123456789' },
  });
  return { status: res.status, body: await res.json() as any };
}

async function runsImage(name: string, word: string): Promise<void> {
  const ws = await client.workspaces.create({ image: name, memory_mb: 256 });
  const rt = await openRuntime(client, server, ws.id);
  let out = '';
  for (let i = 0; i < 50 && !out; i++) {
    out = String((await rt.exec.run(['sh', '-c', 'cat /tmp/out 2>/dev/null || true'])).stdout ?? '').trim();
    if (!out) await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(out, `imported ${word} in /opt/app`, 'the image\'s Cmd ran with its Env in its WorkingDir');
  const files = await rt.exec.run(['sh', '-c', 'cat /etc/app.conf; test -e /etc/motd && echo motd; echo end']);
  assert.equal(String(files.stdout ?? '').trim(), `${word}\nend`, 'the whiteout removed the base\'s /etc/motd');
  await api(server, 'DELETE', `/workspace/${ws.id}`);
}

test('an OCI layout directory imports by path, reuses the stored base layer, and runs its Cmd', async () => {
  const layout = join(allowed, 'layout');
  const base = testImageStore().layers.layerDir(baseLayer);
  const { layers } = await writeOciLayout([base, appLayer(join(work, 'app-oci'), 'oci')], CONFIG, layout, `test/oci-${tag}:1`);
  assert.equal(layers[0], baseLayer, 'the fixture\'s base layer is byte for byte the stored one');
  const res = await api(server, 'POST', '/images', { path: layout });
  assert.equal(res.status, 201, res.text);
  made.push(`test/oci-${tag}:1`);
  assert.equal(res.body.image.name, `test/oci-${tag}:1`, 'named by the archive\'s own reference');
  assert.deepEqual(res.body.image.layers, layers);
  const listed = (await api(server, 'GET', '/workspace/images')).body.images.find((i: any) => i.id === `test/oci-${tag}:1`);
  assert.equal(listed?.source, 'imported');
  await runsImage(`test/oci-${tag}:1`, 'oci');
});

test('a docker save tar and an OCI tar import as uploads', async () => {
  const base = testImageStore().layers.layerDir(baseLayer);
  const docker = join(work, 'docker.tar');
  await writeDockerSave([base, appLayer(join(work, 'app-docker'), 'docker')], CONFIG, 'whatever/name:1', docker, join(work, 'docker-work'));
  const d = await upload(docker, `test/docker-${tag}:1`);
  assert.equal(d.status, 201, JSON.stringify(d.body));
  made.push(`test/docker-${tag}:1`);
  await runsImage(`test/docker-${tag}:1`, 'docker');
  const layout = join(work, 'oci-for-tar');
  await writeOciLayout([base, appLayer(join(work, 'app-ocitar'), 'ocitar')], CONFIG, layout);
  tarDirectory(layout, join(work, 'oci.tar'));
  const o = await upload(join(work, 'oci.tar'), `test/ocitar-${tag}:1`);
  assert.equal(o.status, 201, JSON.stringify(o.body));
  made.push(`test/ocitar-${tag}:1`);
  await runsImage(`test/ocitar-${tag}:1`, 'ocitar');
});

test('paths outside the operator\'s directories are refused the same way whether they exist or not', async () => {
  await writeOciLayout([appLayer(join(work, 'app-out'), 'out')], CONFIG, join(outside, 'layout'));
  symlinkSync(join(outside, 'layout'), join(allowed, 'link-out'));
  for (const path of [join(outside, 'layout'), join(allowed, 'link-out'), '/etc', join(allowed, 'missing'), 'relative/path']) {
    const res = await api(server, 'POST', '/images', { path, name: `test/x-${tag}` });
    assert.ok(res.status === 403 || res.status === 422, `${path}: ${res.text}`);
    assert.equal(res.body.details?.field ?? res.body.field, 'path');
    assert.ok(!res.text.includes(outside), 'no host path in the answer');
  }
});

/** Writes a tar with python's tarfile (GNU tar will not write some of these on purpose). */
function pythonTar(file: string, script: string): void {
  execFileSync('python3', ['-c', `import tarfile, io\nt = tarfile.open(${JSON.stringify(file)}, 'w')\n` +
    'def add(name, data=b"", **kw):\n  i = tarfile.TarInfo(name); i.size = len(data)\n  for k, v in kw.items(): setattr(i, k, v)\n  t.addfile(i, io.BytesIO(data) if data else None)\n' +
    `${script}\nt.close()\n`]);
}

function snapshotStore(): { layers: string[]; images: string[] } {
  const dir = testImageStore().layers.imagesDir;
  return { layers: readdirSync(join(dir, 'layers')).sort(), images: readdirSync(join(dir, 'images')).sort() };
}

test('malicious archives are refused with a code and leave nothing behind', async () => {
  const evil: Record<string, string> = {
    dotdot: 'add("../evil", b"x")',
    absolute: 'add("/tmp/warren-abs-evil", b"x")',
    through_symlink: `add("etc", type=tarfile.SYMTYPE, linkname=${JSON.stringify(outside)})\nadd("etc/owned", b"x")`,
    hardlink_out: 'add("shadow", type=tarfile.LNKTYPE, linkname="/etc/shadow")',
    device: 'add("dev/sda", type=tarfile.BLKTYPE, devmajor=8, devminor=0)',
    bomb: 'add("big", b"\\0" * (300 * 1024 * 1024))',
  };
  const before = snapshotStore();
  for (const [what, script] of Object.entries(evil)) {
    const layerFile = join(work, `evil-${what}.tar`);
    pythonTar(layerFile, script);
    const layout = join(allowed, `evil-${what}`);
    await writeOciLayoutFromTar(layerFile, layout);
    const res = await api(server, 'POST', '/images', { path: layout, name: `test/evil-${what}-${tag}` });
    assert.ok([400, 413, 422].includes(res.status), `${what}: ${res.status} ${res.text}`);
    assert.match(res.body.code, /^IMAGE_/, `${what}: ${res.text}`);
    assert.ok(!res.text.includes(work), 'no host path in the answer');
    assert.deepEqual(snapshotStore(), before, `${what}: no layer or image left`);
    assert.equal(readdirSync(join(testImageStore().layers.imagesDir, '.staging')).filter((n) => n.startsWith(`${server.proc.pid}-`)).length, 0);
  }
  assert.deepEqual(readdirSync(outside).sort(), ['layout'], 'nothing was written through the symlink');
  assert.equal(existsSync('/tmp/warren-abs-evil'), false);
  assert.equal(existsSync(join(work, 'evil')), false);
});

/** An OCI layout whose single layer is the given tar file, as is. */
async function writeOciLayoutFromTar(layerFile: string, out: string): Promise<void> {
  const dir = join(out, '..', `${out.split('/').pop()}-src`);
  mkdirSync(dir, { recursive: true });
  await writeOciLayout([dir], CONFIG, out);
  // Replace the (empty) fixture layer by the crafted tar, fixing digests in manifest and config.
  execFileSync('python3', ['-c', `
import hashlib, json, os, sys
out, layer = sys.argv[1], sys.argv[2]
blobs = os.path.join(out, 'blobs', 'sha256')
data = open(layer, 'rb').read()
h = hashlib.sha256(data).hexdigest()
open(os.path.join(blobs, h), 'wb').write(data)
idx = json.load(open(os.path.join(out, 'index.json')))
mh = idx['manifests'][0]['digest'].split(':')[1]
man = json.load(open(os.path.join(blobs, mh)))
cfg = json.load(open(os.path.join(blobs, man['config']['digest'].split(':')[1])))
cfg['rootfs']['diff_ids'] = ['sha256:' + h]
cb = json.dumps(cfg).encode(); ch = hashlib.sha256(cb).hexdigest(); open(os.path.join(blobs, ch), 'wb').write(cb)
man['config'] = {'mediaType': man['config']['mediaType'], 'digest': 'sha256:' + ch, 'size': len(cb)}
man['layers'] = [{'mediaType': 'application/vnd.oci.image.layer.v1.tar', 'digest': 'sha256:' + h, 'size': len(data)}]
mb = json.dumps(man).encode(); mh2 = hashlib.sha256(mb).hexdigest(); open(os.path.join(blobs, mh2), 'wb').write(mb)
idx['manifests'][0].update({'digest': 'sha256:' + mh2, 'size': len(mb)})
json.dump(idx, open(os.path.join(out, 'index.json'), 'w'))
`, out, layerFile]);
}

test('a tampered blob is refused by its digest', async () => {
  const layout = join(allowed, 'tampered');
  await writeOciLayout([appLayer(join(work, 'app-tamper'), 'tamper')], CONFIG, layout);
  const manifest = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')).manifests[0].digest.split(':')[1];
  const layerHex = JSON.parse(readFileSync(join(layout, 'blobs/sha256', manifest), 'utf8')).layers[0].digest.split(':')[1];
  const file = join(layout, 'blobs/sha256', layerHex);
  const bytes = readFileSync(file);
  bytes[600] = bytes[600]! ^ 0xff;
  writeFileSync(file, bytes);
  const res = await api(server, 'POST', '/images', { path: layout, name: `test/tampered-${tag}` });
  assert.equal(res.status, 400, res.text);
  assert.match(res.body.code, /^IMAGE_ARCHIVE_/);
});

test('a kill -9 in the middle of an import lists no half image, and the restart sweeps its files', async () => {
  const big = join(work, 'app-big');
  mkdirSync(big, { recursive: true });
  execFileSync('sh', ['-c', `for i in $(seq 1 40); do head -c 4194304 /dev/urandom > ${big}/f$i; done`]);
  const layout = join(allowed, 'big');
  await writeOciLayout([big], CONFIG, layout);
  const name = `test/killed-${tag}`;
  const pending = api(server, 'POST', '/images', { path: layout, name }).catch(() => null);
  const staging = join(testImageStore().layers.imagesDir, '.staging');
  const pid = server.proc.pid;
  for (let i = 0; i < 200 && !readdirSync(staging).some((n) => n.startsWith(`${pid}-`)); i++) await new Promise((r) => setTimeout(r, 10));
  await server.kill();
  await pending;
  await server.restart({ WARREN_RATE_LIMIT: '0', WARREN_IMAGE_IMPORT_DIRS: allowed, WARREN_IMAGE_LAYER_MB: '256' });
  const names = (await api(server, 'GET', '/workspace/images')).body.images.map((i: any) => i.id);
  assert.ok(!names.includes(name), 'no half image is listed');
  assert.deepEqual(readdirSync(staging).filter((n) => n.startsWith(`${pid}-`)), [], 'the dead import\'s staging dir is gone');
  const again = await api(server, 'POST', '/images', { path: layout, name });
  assert.equal(again.status, 201, again.text);
  made.push(name);
});

test('export writes an OCI archive skopeo reads, and importing it again (as docker save, by the CLI) stores nothing new', async () => {
  const name = `test/oci-${tag}:1`;
  const env = { ...process.env, WARREN_IMAGES_DIR: testImageStore().imagesDir };
  const cli = (...args: string[]) => execFileSync(process.execPath, [CLI, 'images', ...args], { env, encoding: 'utf8' });
  const original = (await api(server, 'GET', '/workspace/images')).body.images.find((i: any) => i.id === name);
  assert.ok(original, 'the first test imported it');
  const rec = await testImageStore().ensure(name);
  const out = join(work, 'export.tar');
  const printed = cli('export', name, out).trim().split('\n').slice(1).map((l) => l.trim());
  assert.equal(printed[0], rec.layers[0], 'a layer made here is exported under its own id');
  const inspect = JSON.parse(execFileSync('skopeo', ['inspect', '--raw', `oci-archive:${out}`], { encoding: 'utf8' }));
  assert.deepEqual(inspect.layers.map((l: any) => l.digest), printed, 'skopeo reads the digests the export printed');
  assert.equal(cli('export', name, join(work, 'export-2.tar')).trim().split('\n').slice(1).map((l) => l.trim()).join(), printed.join(),
    'exporting twice gives the same digests');
  const docker = join(work, 'export-docker.tar');
  execFileSync('skopeo', ['--insecure-policy', 'copy', '--quiet', `oci-archive:${out}`, `docker-archive:${docker}:test/roundtrip:1`]);
  const again = cli('import', docker, '--name', `test/roundtrip-${tag}:1`);
  made.push(`test/roundtrip-${tag}:1`);
  assert.match(again, new RegExp(`${rec.layers.length} layers \\(${rec.layers.length} already stored\\)`));
  const back = await testImageStore().ensure(`test/roundtrip-${tag}:1`);
  assert.deepEqual(back.layers, rec.layers, 'the same digests after export and re-import');
  assert.equal(back.id, rec.id, 'the same image');
});

test('a workspace from a busybox image (no glibc, no Node, no bash) gets the same runtime API', async () => {
  const root = join(work, 'busybox-root');
  mkdirSync(join(root, 'bin'), { recursive: true });
  mkdirSync(join(root, 'etc'), { recursive: true });
  mkdirSync(join(root, 'tmp'), { recursive: true, mode: 0o1777 });
  mkdirSync(join(root, 'root'), { recursive: true });
  execFileSync('cp', ['/bin/busybox', join(root, 'bin/busybox')]);
  execFileSync(join(root, 'bin/busybox'), ['--install', '-s', join(root, 'bin')]);
  // --install links to the host path it ran from; point them at /bin/busybox inside the image
  execFileSync('sh', ['-c', `cd ${root}/bin && for f in *; do [ "$f" = busybox ] || ln -sf /bin/busybox "$f"; done`]);
  writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  writeFileSync(join(root, 'etc/group'), 'root:x:0:\n');
  const archive = join(work, 'busybox.tar');
  await writeDockerSave([root], { Env: ['GREETING=tiny', 'PATH=/bin'], Cmd: ['/bin/sh', '-c', 'echo "$GREETING" > /tmp/out; exec sleep 600'] },
    'busybox:test', archive, join(work, 'busybox-work'));
  const res = await upload(archive, `test/busybox-${tag}:1`);
  assert.equal(res.status, 201, JSON.stringify(res.body));
  made.push(`test/busybox-${tag}:1`);
  const ws = await client.workspaces.create({ image: `test/busybox-${tag}:1`, memory_mb: 128 });
  const rt = await openRuntime(client, server, ws.id);
  let out = '';
  for (let i = 0; i < 50 && !out; i++) {
    out = String((await rt.exec.run(['sh', '-c', 'cat /tmp/out 2>/dev/null || true'])).stdout ?? '').trim();
    if (!out) await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(out, 'tiny');
  const facts = await rt.exec.run(['sh', '-c', 'ls /lib /usr 2>&1 | wc -l; test -e /bin/bash || echo nobash; command -v node || echo nonode']);
  assert.match(String(facts.stdout ?? ''), /nobash\nnonode/);
  await rt.files.write({ fullPath: '/root/note.txt', content: 'from the API\n', createDirs: true });
  const read = await rt.files.read({ filePath: '/root/note.txt' }) as any;
  assert.match(JSON.stringify(read), /from the API/);
  await api(server, 'DELETE', `/workspace/${ws.id}`);
});
