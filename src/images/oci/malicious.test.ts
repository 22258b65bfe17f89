/**
 * Malicious layers, each in a real OCI layout opened by the real skopeo: every one is refused
 * with its code, the layer's directory is gone afterwards and nothing appeared outside it
 * (a sentinel directory next to it, the absolute paths the archive aimed at).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { layerTar, scratch, writeLayoutDir, type EntrySpec } from '../../../test/support/oci-archives.js';
import { extractLayer, openArchive } from './index.js';

const LIMITS = { maxUnpackedBytes: 1024 * 1024, maxEntries: 100 };

interface Case {
  title: string;
  /** Entries of the one layer; `OUT` is replaced by the sentinel directory's absolute path. */
  entries: EntrySpec[];
  code: string;
  gzip?: boolean;
  /** Zero bytes appended after the tar (which tar readers skip as empty blocks). */
  pad?: number;
}

const CASES: Case[] = [
  { title: '`../evil`', code: 'IMAGE_ARCHIVE_UNSAFE', entries: [{ name: 'ok', content: 'ok' }, { name: '../evil', content: 'x' }] },
  { title: 'a deeper `a/../../evil`', code: 'IMAGE_ARCHIVE_UNSAFE', entries: [{ name: 'a/', type: 'directory' }, { name: 'a/../../evil', content: 'x' }] },
  { title: 'an absolute name', code: 'IMAGE_ARCHIVE_UNSAFE', entries: [{ name: 'OUT/abs', content: 'x' }] },
  { title: 'a symlink to outside, then a file written through it', code: 'IMAGE_ARCHIVE_UNSAFE',
    entries: [{ name: 'x', type: 'symlink', linkname: 'OUT' }, { name: 'x/passwd', content: 'root::0:0::/:/bin/sh' }] },
  { title: 'a relative symlink up and out, then a directory through it', code: 'IMAGE_ARCHIVE_UNSAFE',
    entries: [{ name: 'd/', type: 'directory' }, { name: 'd/up', type: 'symlink', linkname: '../../outside' }, { name: 'd/up/sub/', type: 'directory' }] },
  { title: 'a symlink, then a hard link through it', code: 'IMAGE_ARCHIVE_UNSAFE',
    entries: [{ name: 'f', content: 'f' }, { name: 'x', type: 'symlink', linkname: 'OUT' }, { name: 'x/linked', type: 'link', linkname: 'f' }] },
  { title: 'a hard link to /etc/shadow', code: 'IMAGE_ARCHIVE_UNSAFE', entries: [{ name: 'shadow', type: 'link', linkname: '/etc/shadow' }] },
  { title: 'a hard link up to ../../../../etc/shadow', code: 'IMAGE_ARCHIVE_UNSAFE', entries: [{ name: 'shadow', type: 'link', linkname: '../../../../etc/shadow' }] },
  { title: 'a hard link to a file the layer does not have', code: 'IMAGE_ARCHIVE_UNSAFE', entries: [{ name: 'shadow', type: 'link', linkname: 'etc/shadow' }] },
  { title: 'a hard link through a symlink of the layer', code: 'IMAGE_ARCHIVE_UNSAFE',
    entries: [{ name: 'etc', type: 'symlink', linkname: '/etc' }, { name: 'shadow', type: 'link', linkname: 'etc/shadow' }] },
  { title: 'a character device', code: 'IMAGE_ARCHIVE_UNSAFE', entries: [{ name: 'dev/mem', type: 'character-device', devmajor: 1, devminor: 1 }] },
  { title: 'a block device', code: 'IMAGE_ARCHIVE_UNSAFE', entries: [{ name: 'dev/sda', type: 'block-device', devmajor: 8, devminor: 0 }] },
  { title: 'a whiteout of `..`', code: 'IMAGE_ARCHIVE_UNSAFE', entries: [{ name: 'a/.wh...' }] },
  { title: 'a bomb: a file over the unpacked-size cap (gzip, a few KiB)', code: 'IMAGE_TOO_LARGE', gzip: true,
    entries: [{ name: 'small', content: 'x' }, { name: 'zeros', content: Buffer.alloc(2 * 1024 * 1024) }] },
  { title: 'a bomb: more entries than the cap', code: 'IMAGE_TOO_LARGE', gzip: true,
    entries: Array.from({ length: 150 }, (_, i) => ({ name: `f${i}`, content: '' })) },
  { title: 'a bomb: endless zero blocks after the tar', code: 'IMAGE_TOO_LARGE', gzip: true, pad: 64 * 1024 * 1024,
    entries: [{ name: 'small', content: 'x' }] },
];

for (const c of CASES) {
  test(`a layer with ${c.title} is refused (${c.code}) and leaves nothing`, async (t) => {
    const s = scratch(t);
    const outside = join(s.dir, 'outside');
    mkdirSync(outside);
    writeFileSync(join(outside, 'sentinel'), 'untouched');
    const entries = c.entries.map((e) => ({ ...e, name: e.name.replace('OUT', outside), linkname: e.linkname?.replace('OUT', outside) }));
    const tar = Buffer.concat([await layerTar(entries), Buffer.alloc(c.pad ?? 0)]);
    writeLayoutDir({ layers: [tar], config: {} }, join(s.dir, 'layout'), { gzip: c.gzip ? [0] : [] });
    const src = await openArchive(join(s.dir, 'layout'), { workDir: join(s.dir, 'work'), limits: LIMITS });
    const dest = join(s.dir, 'unpack', 'layer');
    mkdirSync(join(s.dir, 'unpack'));

    await assert.rejects(extractLayer(src.layers[0]!, dest, LIMITS), (err: { code?: string; message: string; details?: { field?: string } }) => {
      assert.equal(err.code, c.code, err.message);
      assert.equal(err.details?.field, 'archive');
      assert.doesNotMatch(err.message, new RegExp(s.dir), 'no host path in the message');
      return true;
    });
    assert.equal(existsSync(dest), false, 'the layer directory is removed');
    assert.deepEqual(readdirSync(join(s.dir, 'unpack')), [], 'nothing next to it');
    assert.deepEqual(readdirSync(outside), ['sentinel'], 'nothing written outside');
    assert.deepEqual(readdirSync(s.dir).sort(), ['layout', 'outside', 'unpack', 'work']);
    await src.dispose();
  });
}

test('a symlink is written as a link, never followed, even when it points outside; a later entry may replace it', async (t) => {
  const s = scratch(t);
  const outside = join(s.dir, 'outside');
  mkdirSync(outside);
  const layer = await layerTar([
    { name: 'x', type: 'symlink', linkname: outside },
    { name: 'x', content: 'now a file' }, // replaces the link itself (tar semantics), not its target
    { name: 'abs', type: 'symlink', linkname: '/etc/passwd' },
  ]);
  writeLayoutDir({ layers: [layer], config: {} }, join(s.dir, 'layout'));
  const src = await openArchive(join(s.dir, 'layout'), { workDir: join(s.dir, 'work'), limits: LIMITS });
  const r = await extractLayer(src.layers[0]!, join(s.dir, 'layer'), LIMITS);
  assert.equal(r.entries, 3);
  assert.deepEqual(readdirSync(outside), []);
  assert.deepEqual(readdirSync(join(s.dir, 'layer')).sort(), ['abs', 'x']);
});
