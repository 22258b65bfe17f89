import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  IMAGE_CATALOG, IMAGE_CATEGORIES, filterCatalog, normalizeRef, resolveImage, toCatalogEntry,
} from './catalog.js';

const ids = (list: { id: string }[]) => list.map((i) => i.id).sort();

test('catalog has debian-12, node-20, python-3 and dev with the spec fields', () => {
  for (const id of ['node-20', 'debian-12', 'python-3', 'dev']) {
    const img = IMAGE_CATALOG.find((i) => i.id === id);
    assert.ok(img, id);
    for (const key of ['id', 'image', 'label', 'desc', 'category', 'logo', 'color'] as const) {
      assert.equal(typeof img[key], 'string', `${id}.${key}`);
    }
    assert.ok(Array.isArray(img.capabilities));
    assert.ok(img.minimum_resources && typeof img.minimum_resources.memory_mb === 'number');
    assert.ok(img.vm_defaults);
  }
});

test('ids and refs are unique; every category is a known one', () => {
  const catIds = new Set(IMAGE_CATEGORIES.map((c) => c.id));
  assert.deepEqual([...catIds].sort(), ['ai', 'browser', 'database', 'devtools', 'infra', 'os', 'runtime']);
  const names = IMAGE_CATALOG.flatMap((i) => [i.id, i.image, ...i.aliases].map(normalizeRef));
  assert.equal(new Set(names).size, names.length, 'an id/ref/alias resolves to two images');
  for (const img of IMAGE_CATALOG) assert.ok(catIds.has(img.category), img.id);
});

test('no filter and category=all list everything', () => {
  assert.equal(filterCatalog(IMAGE_CATALOG).length, IMAGE_CATALOG.length);
  assert.equal(filterCatalog(IMAGE_CATALOG, { category: 'all' }).length, IMAGE_CATALOG.length);
  assert.equal(filterCatalog(IMAGE_CATALOG, { category: '', search: '  ' }).length, IMAGE_CATALOG.length);
});

test('category filters; unknown category matches nothing', () => {
  assert.deepEqual(ids(filterCatalog(IMAGE_CATALOG, { category: 'os' })), ['debian-12']);
  assert.ok(ids(filterCatalog(IMAGE_CATALOG, { category: 'runtime' })).includes('node-20'));
  assert.deepEqual(filterCatalog(IMAGE_CATALOG, { category: 'database' }), []);
  assert.deepEqual(filterCatalog(IMAGE_CATALOG, { category: 'nope' }), []);
});

test('search matches id, label, desc, image ref, keywords and contents, case-insensitively', () => {
  assert.deepEqual(ids(filterCatalog(IMAGE_CATALOG, { search: 'node-20' })), ['node-20']); // id
  assert.deepEqual(ids(filterCatalog(IMAGE_CATALOG, { search: 'Node.js' })), ['dev', 'node-20']); // label; dev's desc
  assert.deepEqual(ids(filterCatalog(IMAGE_CATALOG, { search: 'pip venv' })), ['python-3']);
  assert.deepEqual(ids(filterCatalog(IMAGE_CATALOG, { search: 'build-essential' })), ['dev']);
  assert.deepEqual(ids(filterCatalog(IMAGE_CATALOG, { search: 'minimal debian' })), ['debian-12']); // desc, 2 words
  assert.deepEqual(ids(filterCatalog(IMAGE_CATALOG, { search: 'oblien/node' })), ['node-20']); // ref
  assert.deepEqual(ids(filterCatalog(IMAGE_CATALOG, { search: 'TYPESCRIPT' })), ['node-20']); // keyword
  assert.ok(ids(filterCatalog(IMAGE_CATALOG, { search: 'ripgrep' })).includes('node-20')); // contents
  assert.deepEqual(filterCatalog(IMAGE_CATALOG, { search: 'mysql' }), []);
});

test('search and category combine', () => {
  assert.deepEqual(filterCatalog(IMAGE_CATALOG, { search: 'node', category: 'os' }), []);
  assert.deepEqual(ids(filterCatalog(IMAGE_CATALOG, { search: 'node', category: 'runtime' })), ['node-20']);
});

test('resolve by catalog id or by image ref (and docker-style spellings)', () => {
  assert.equal(resolveImage('node-20')?.id, 'node-20');
  assert.equal(resolveImage('oblien/node:20')?.id, 'node-20');
  assert.equal(resolveImage('debian:12')?.id, 'debian-12');
  assert.equal(resolveImage('docker.io/library/debian:12')?.id, 'debian-12');
  assert.equal(resolveImage(' Debian:Bookworm ')?.id, 'debian-12');
  assert.equal(resolveImage('node:20')?.id, 'node-20');
  assert.equal(resolveImage('oblien/node:24'), null);
  assert.equal(resolveImage(''), null);
  assert.equal(resolveImage('nope'), null);
});

test('wire entry has only the spec fields', () => {
  const entry = toCatalogEntry(IMAGE_CATALOG[0]!);
  assert.deepEqual(Object.keys(entry).sort(), [
    'capabilities', 'category', 'color', 'desc', 'id', 'image', 'label', 'logo', 'minimum_resources', 'vm_defaults',
  ]);
});
