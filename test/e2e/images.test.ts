/**
 * Images with the real server and real workspaces (issue 12): a workspace saved as an
 * image is a diff over its image, usable at once by POST /workspace with the official
 * client; images in use cannot be deleted; names are checked; deleting an image removes
 * exactly the layers nothing else needs.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { appendFileSync, copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { digestLayerDir } from '../../src/images/layer-digest.js';
import { EMPTY_CONFIG, imageIdOf, type ImageRecord } from '../../src/images/records.js';
import { execFileSync } from 'node:child_process';
import { ADMIN, CLI, api, startServer, type TestServer } from '../support/warren.js';
import { ensureTestImages, testImageStore, TEST_IMAGES_DIR } from '../support/images.js';
import { adminClient, openRuntime, type Client } from '../support/workspaces.js';

let server: TestServer;
let client: Client;
const tag = randomBytes(3).toString('hex');
const made: string[] = [];

before(async () => {
  await ensureTestImages(['debian-12']);
  server = await startServer({ env: { WARREN_RATE_LIMIT: '0' } });
  client = adminClient(server);
});
after(async () => {
  for (const w of (await api(server, 'GET', '/workspace?limit=100')).body?.workspaces ?? []) {
    await api(server, 'DELETE', `/workspace/${w.id}`);
  }
  for (const name of made) await api(server, 'DELETE', `/images/${name}`);
  await server?.stop();
});

test('a committed workspace is a new layer over its image; a workspace from it sees the files and the deletions', async () => {
  const ws = await client.workspaces.create({ image: 'debian-12', memory_mb: 256 });
  const rt = await openRuntime(client, server, ws.id);
  await rt.exec.run(['sh', '-c', 'mkdir -p /opt/app && echo hello > /opt/app/hello.txt && rm /etc/motd && rm -r /var/log/apt']);
  const name = `test/commit-${tag}:1`;
  const res = await api(server, 'POST', `/workspace/${ws.id}/image`, { name });
  assert.equal(res.status, 201, `${res.text}\n${server.logs.filter((l) => /error|fail/i.test(l)).slice(-5).join('\n')}`);
  made.push(name);
  const debian = (await testImageStore().ensure('debian-12'));
  assert.deepEqual(res.body.image.layers.slice(0, -1), debian.layers, 'the image\'s layers, then one new layer');
  assert.equal(res.body.image.layers.length, debian.layers.length + 1);
  const top = res.body.image.layers.at(-1) as string;
  const layerBytes = (await testImageStore().layers.layer(top))!.size_bytes;
  assert.ok(layerBytes < 1e6, `the new layer is a diff (${layerBytes} bytes), not a copy of the image`);

  const listed = (await api(server, 'GET', '/workspace/images')).body.images.find((i: any) => i.id === name);
  assert.equal(listed?.source, 'committed');

  const copy = await client.workspaces.create({ image: name, memory_mb: 256 });
  const rt2 = await openRuntime(client, server, copy.id);
  const out = await rt2.exec.run(['sh', '-c', 'cat /opt/app/hello.txt; test -e /etc/motd && echo motd; test -e /var/log/apt && echo apt; echo done']);
  assert.equal(String(out.stdout ?? out.output ?? '').trim(), 'hello\ndone');

  const refused = await api(server, 'DELETE', `/images/${name}`);
  assert.equal(refused.status, 409, refused.text);
  assert.equal(refused.body.code, 'image_in_use');
  assert.deepEqual(refused.body.details?.workspaces ?? refused.body.workspaces, [copy.id]);

  await api(server, 'DELETE', `/workspace/${copy.id}`);
  const gone = await api(server, 'DELETE', `/images/${name}`);
  assert.equal(gone.status, 200, gone.text);
  assert.equal(gone.body.layersRemoved, 1, 'only the committed layer goes; the base stays');
  assert.equal(existsSync(testImageStore().layers.layerDir(top)), false);
  assert.ok(testImageStore().layers.hasLayer(debian.layers[0]!));
  made.pop();
});

test('names are checked: catalog names are reserved, bad names and unknown images are refused', async () => {
  const ws = await client.workspaces.create({ image: 'debian-12', memory_mb: 256 });
  const reserved = await api(server, 'POST', `/workspace/${ws.id}/image`, { name: 'node-20' });
  assert.equal(reserved.status, 409);
  assert.equal(reserved.body.code, 'image_name_reserved');
  for (const name of ['', 'UPPER', '../x', 'a b', `sha256:${'a'.repeat(64)}`, 'x'.repeat(201), 7]) {
    const bad = await api(server, 'POST', `/workspace/${ws.id}/image`, { name });
    assert.equal(bad.status, 422, `${String(name).slice(0, 20)}: ${bad.text}`);
    assert.equal(bad.body.details?.field ?? bad.body.field, 'name');
  }
  const missing = await api(server, 'DELETE', `/images/nothing-${tag}`);
  assert.equal(missing.status, 404);
  assert.equal(missing.body.code, 'image_not_found');
  const catalog = await api(server, 'DELETE', '/images/debian-12');
  assert.equal(catalog.status, 409);
  assert.equal(catalog.body.code, 'image_name_reserved');
  const unknown = await client.workspaces.create({ image: `nothing-${tag}` }).then(() => null, (e: any) => e);
  assert.equal(unknown?.code ?? unknown?.body?.code, 'INVALID_IMAGE');
  await api(server, 'DELETE', `/workspace/${ws.id}`);
});

/**
 * An image with an OCI config, put in the store the way an import does (a staged layer
 * committed under the lock, then the record): its Env, WorkingDir, User and Entrypoint+Cmd
 * shape the workspace's startup command.
 */
async function storeConfiguredImage(name: string): Promise<ImageRecord> {
  const store = testImageStore();
  const base = await store.ensure('debian-12');
  const staging = await store.layers.stage();
  const dir = join(staging.path, 'layer');
  mkdirSync(join(dir, 'etc'), { recursive: true });
  const baseEtc = join(store.layers.layerDir(base.layers[0]!), 'etc');
  for (const f of ['passwd', 'group']) copyFileSync(join(baseEtc, f), join(dir, 'etc', f));
  appendFileSync(join(dir, 'etc/passwd'), 'app:x:1000:1000::/home/app:/bin/sh\n');
  appendFileSync(join(dir, 'etc/group'), 'app:x:1000:\n');
  mkdirSync(join(dir, 'opt/tool'), { recursive: true });
  writeFileSync(join(dir, 'opt/tool/start.sh'), 'echo "$GREETING $1 from $(pwd) as $(id -u):$(id -g) home $HOME" > /tmp/out\nexec sleep 600\n');
  const digest = await digestLayerDir(dir);
  const config = {
    ...EMPTY_CONFIG, env: ['GREETING=hello', 'PATH=/usr/local/bin:/usr/bin:/bin'], workingDir: '/srv/app', user: 'app',
    entrypoint: ['/bin/sh', '/opt/tool/start.sh'], cmd: ['world'],
  };
  const layers = [...base.layers, digest];
  const rec: ImageRecord = { id: imageIdOf(layers, config), source: 'imported', layers, config, created_at: new Date().toISOString(), size_bytes: 0 };
  await store.layers.locked(async () => {
    await store.layers.commitLayer(dir, digest);
    await store.layers.putImage(rec, [name]);
  });
  await staging.discard();
  return rec;
}

test('an image\'s Env, WorkingDir, User and Entrypoint+Cmd shape the workspace; its own env wins', async () => {
  const name = `test/configured-${tag}:1`;
  const rec = await storeConfiguredImage(name);
  made.push(name);
  const created = await api(server, 'POST', '/workspace', { image: name, memory_mb: 256, config: { env: ['EXTRA=1'] } });
  assert.equal(created.status, 201, created.text);
  const ws = created.body.workspace;
  const rt = await openRuntime(client, server, ws.id);
  let out = '';
  for (let i = 0; i < 50 && !out; i++) {
    const r = await rt.exec.run(['sh', '-c', 'cat /tmp/out 2>/dev/null || true']);
    out = String(r.stdout ?? r.output ?? '').trim();
    if (!out) await new Promise((res) => setTimeout(res, 100));
  }
  assert.equal(out, 'hello world from /srv/app as 1000:1000 home /home/app');
  const env = await rt.exec.run(['sh', '-c', 'echo $GREETING $EXTRA']);
  assert.equal(String(env.stdout ?? env.output ?? '').trim(), 'hello 1', 'the image\'s Env reaches every process, the workspace\'s too');
  const ownRes = await api(server, 'POST', '/workspace', { image: name, memory_mb: 256, config: { cmd: ['sleep', '600'], env: ['GREETING=mine'] } });
  assert.equal(ownRes.status, 201, ownRes.text);
  const own = ownRes.body.workspace;
  const rt2 = await openRuntime(client, server, own.id);
  const mine = await rt2.exec.run(['sh', '-c', 'echo $GREETING; test -e /tmp/out && echo ran; pgrep -x sleep >/dev/null && echo sleeping']);
  assert.equal(String(mine.stdout ?? '').trim(), 'mine\nsleeping', 'a command given at create replaces the image\'s');
  assert.ok(rec.id.startsWith('sha256:'));
  for (const id of [ws.id, own.id]) await api(server, 'DELETE', `/workspace/${id}`);
});

test('warren images commit, list and delete from the command line', async () => {
  const ws = await client.workspaces.create({ image: 'debian-12', memory_mb: 256 });
  const rt = await openRuntime(client, server, ws.id);
  await rt.exec.run(['sh', '-c', 'echo cli > /root/cli.txt']);
  const name = `test/cli-${tag}:1`;
  const env = { ...process.env, WARREN_ADMIN_CLIENT_ID: ADMIN.clientId, WARREN_ADMIN_CLIENT_SECRET: ADMIN.clientSecret };
  const run = (...args: string[]) => execFileSync(process.execPath, [CLI, 'images', ...args], { env, encoding: 'utf8' });
  assert.match(run('commit', ws.id, name, '--url', server.url), new RegExp(`^${name.replace(/[/:.]/g, '\\$&')}: [0-9a-f]{12}, \\d+ layers`));
  made.push(name);
  const listed = run('list', '--images-dir', TEST_IMAGES_DIR).split('\n').find((l) => l.startsWith(`${name}\t`));
  assert.match(listed ?? '', /\tready\tcommitted\t[0-9a-f]{12}\t/);
  assert.match(run('delete', name, '--url', server.url), /deleted, 1 layers removed/);
  made.pop();
  await api(server, 'DELETE', `/workspace/${ws.id}`);
});
