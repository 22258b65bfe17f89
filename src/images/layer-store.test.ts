import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LayerStore } from './layer-store.js';
import { EMPTY_CONFIG, imageIdOf, type ImageRecord } from './records.js';

const digest = (c: string) => `sha256:${c.repeat(64)}`;

function tempStore(t: { after: (fn: () => void) => void }): LayerStore {
  const dir = mkdtempSync(join(tmpdir(), 'warren-layer-store-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return new LayerStore(dir);
}

async function addLayer(store: LayerStore, d: string, file: string): Promise<void> {
  const staging = await store.stage();
  const dir = join(staging.path, 'layer');
  mkdirSync(dir);
  writeFileSync(join(dir, file), file);
  await store.locked(() => store.commitLayer(dir, d));
  await staging.discard();
}

function image(layers: string[], source: ImageRecord['source'] = 'imported', env: string[] = []): ImageRecord {
  const config = { ...EMPTY_CONFIG, env };
  return { id: imageIdOf(layers, config), source, layers, config, created_at: new Date().toISOString(), size_bytes: 0 };
}

test('a layer is stored once however often it is committed, and images name layers by digest', async (t) => {
  const store = tempStore(t);
  await addLayer(store, digest('a'), 'base');
  await addLayer(store, digest('a'), 'other'); // same digest: the second copy is dropped
  assert.deepEqual(readdirSync(store.layerDir(digest('a'))), ['base']);
  await addLayer(store, digest('b'), 'top');
  const img = image([digest('a'), digest('b')]);
  await store.locked(() => store.putImage(img, ['team/tool:1']));
  assert.equal((await store.resolve('team/tool:1'))?.id, img.id);
  assert.equal((await store.resolve(img.id))?.id, img.id);
  assert.equal((await store.resolve(img.id.slice(7, 19)))?.id, img.id, 'a 12-character prefix resolves');
  assert.equal(await store.resolve('nope'), null);
  assert.ok((await store.layer(digest('a')))!.size_bytes > 0);
});

test('an image naming a layer that is not stored is refused', async (t) => {
  const store = tempStore(t);
  await assert.rejects(store.locked(() => store.putImage(image([digest('c')]), ['x'])), /not stored/);
  assert.deepEqual(await store.images(), []);
});

test('a name moves to a new image; the old image and its layers stay until removed', async (t) => {
  const store = tempStore(t);
  await addLayer(store, digest('a'), 'base');
  await addLayer(store, digest('b'), 'v1');
  await addLayer(store, digest('c'), 'v2');
  const v1 = image([digest('a'), digest('b')]);
  const v2 = image([digest('a'), digest('c')]);
  await store.locked(() => store.putImage(v1, ['app']));
  await store.locked(() => store.putImage(v2, ['app']));
  assert.equal((await store.resolve('app'))?.id, v2.id);
  assert.ok(await store.image(v1.id), 'the pinned old image is still there');
  const removed = await store.locked(() => store.removeImage(v1.id));
  assert.deepEqual(removed, [digest('b')], 'only the layer no other image uses goes');
  assert.ok(store.hasLayer(digest('a')) && store.hasLayer(digest('c')));
  assert.equal(existsSync(store.layerDir(digest('b'))), false);
});

test('sweep removes layer directories without a record and records without a directory', async (t) => {
  const store = tempStore(t);
  await addLayer(store, digest('a'), 'base');
  await store.locked(() => store.putImage(image([digest('a')]), ['keep']));
  mkdirSync(store.layerDir(digest('d')), { recursive: true }); // crash after rename, before the record
  writeFileSync(`${store.layerDir(digest('e'))}.json`, '{}'); // record left by a crash while removing
  const swept = await store.sweep();
  assert.deepEqual(swept.layers.sort(), [digest('d'), digest('e')]);
  assert.ok(store.hasLayer(digest('a')));
});

test('an alias finds its stored layer and goes when the layer goes', async (t) => {
  const store = tempStore(t);
  await addLayer(store, digest('a'), 'base');
  await store.locked(() => store.addAlias(digest('9'), digest('a')));
  assert.equal(await store.findLayer(digest('9')), digest('a'));
  assert.equal(await store.findLayer(digest('a')), digest('a'));
  assert.equal(await store.findLayer(digest('8')), null);
  await store.sweep(); // no image uses the layer: it goes, and its alias with it
  assert.equal(await store.findLayer(digest('9')), null);
});
