import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LayerTree, normaliseEntryName, whiteoutKind } from './layer-tree.js';

const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return 'none';
};

test('entry names: ./ and // folded; absolute, .. and non-UTF-8 refused', () => {
  assert.equal(normaliseEntryName('./etc//passwd'), 'etc/passwd');
  assert.equal(normaliseEntryName('./'), '');
  assert.equal(normaliseEntryName('a/./b/'), 'a/b');
  assert.equal(normaliseEntryName('..foo/bar..'), '..foo/bar..', 'dots inside names are names');
  assert.equal(code(() => normaliseEntryName('/etc/passwd')), 'IMAGE_ARCHIVE_UNSAFE');
  assert.equal(code(() => normaliseEntryName('../x')), 'IMAGE_ARCHIVE_UNSAFE');
  assert.equal(code(() => normaliseEntryName('a/b/../../../x')), 'IMAGE_ARCHIVE_UNSAFE');
  assert.equal(code(() => normaliseEntryName('caf\uFFFD')), 'IMAGE_ARCHIVE_UNSUPPORTED');
  assert.equal(code(() => normaliseEntryName(`${'a'.repeat(256)}`)), 'IMAGE_ARCHIVE_INVALID');
});

test('whiteout names: .wh.x hides x, .wh..wh..opq marks its directory, AUFS metadata is skipped', () => {
  assert.deepEqual(whiteoutKind('etc/.wh.gone'), { kind: 'whiteout', hidden: 'etc/gone' });
  assert.deepEqual(whiteoutKind('.wh.top'), { kind: 'whiteout', hidden: 'top' });
  assert.deepEqual(whiteoutKind('data/.wh..wh..opq'), { kind: 'opaque', dir: 'data' });
  assert.deepEqual(whiteoutKind('.wh..wh.plnk'), { kind: 'skip' });
  assert.deepEqual(whiteoutKind('etc/hello.wh.x'), { kind: 'plain' });
  assert.equal(code(() => whiteoutKind('a/.wh.')), 'IMAGE_ARCHIVE_UNSAFE');
  assert.equal(code(() => whiteoutKind('a/.wh...')), 'IMAGE_ARCHIVE_UNSAFE');
});

test('parents must be directories of this layer; missing ones are made, links and files on the way refused', () => {
  const tree = new LayerTree();
  assert.deepEqual(tree.parents('a/b/c'), ['a', 'a/b']);
  assert.deepEqual(tree.parents('a/b/d'), []);
  tree.place('a/link', 'symlink');
  assert.equal(code(() => tree.parents('a/link/x')), 'IMAGE_ARCHIVE_UNSAFE');
  tree.place('a/file', 'file');
  assert.equal(code(() => tree.parents('a/file/x')), 'IMAGE_ARCHIVE_UNSAFE');
});

test('tar semantics: a later entry replaces an earlier one; a directory over a directory merges', () => {
  const tree = new LayerTree();
  const meta = { mode: 0o700, uid: 1, gid: 2, mtime: new Date(5000) };
  assert.equal(tree.place('d', 'dir'), 'create');
  tree.parents('d/x/y');
  assert.equal(tree.place('d', 'dir', meta), 'merge');
  assert.deepEqual(tree.directories().find((d) => d.path === 'd')?.meta, meta);
  assert.equal(tree.place('d', 'symlink'), 'replace');
  assert.deepEqual(tree.directories(), [], 'what was below the replaced directory is forgotten');
  assert.equal(code(() => tree.parents('d/x/z')), 'IMAGE_ARCHIVE_UNSAFE', 'and it is a link now');
});

test('whiteouts hide only the lower layers: same-layer dir becomes opaque, same-layer file stays, later entry replaces', () => {
  const tree = new LayerTree();
  tree.place('dir', 'dir');
  tree.place('file', 'file');
  assert.equal(tree.whiteout('dir'), 'opaque');
  assert.equal(tree.whiteout('file'), 'none');
  assert.equal(tree.whiteout('gone'), 'record');
  assert.equal(tree.whiteout('back'), 'record');
  assert.equal(tree.place('back', 'dir'), 'create', 'nothing on disk to remove for a whiteout');
  tree.whiteout('under');
  assert.deepEqual(tree.parents('under/x'), ['under']);
  assert.deepEqual(tree.whiteouts(), ['gone']);
  assert.deepEqual(tree.opaqueDirs().sort(), ['back', 'dir', 'under'], 'a directory over a whiteout keeps the lower one hidden');
});

test('hard links only to earlier files or symlinks of the layer', () => {
  const tree = new LayerTree();
  tree.place('f', 'file');
  tree.place('l', 'symlink');
  tree.place('d', 'dir');
  tree.whiteout('w');
  assert.equal(tree.linkTargetKind('f'), 'file');
  assert.equal(tree.linkTargetKind('l'), 'symlink');
  for (const target of ['d', 'w', 'missing']) assert.equal(code(() => tree.linkTargetKind(target)), 'IMAGE_ARCHIVE_UNSAFE');
});

test('the opaque marker of the root is ignored; under a file it is refused', () => {
  const tree = new LayerTree();
  tree.markOpaque('');
  tree.place('f', 'file');
  assert.equal(code(() => tree.markOpaque('f')), 'IMAGE_ARCHIVE_INVALID');
  assert.deepEqual(tree.opaqueDirs(), []);
});
