import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from './errors.js';
import { archiveFileName, parseArchiveCreate, parseFork, parseRestore, parseSnapshot, parseVersion, parseVmPath } from './layers.js';
import { parseDestroy, parseIdle } from './lifecycle.js';
import { parseOverlayResize, parseResources } from './resources.js';

function field(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof AppError, String(err));
    return err.details?.field;
  }
  assert.fail('expected a rejection');
}

test('snapshot and restore bodies', () => {
  assert.deepEqual(parseSnapshot({}), { after: 'resume' });
  assert.deepEqual(parseSnapshot({ after: 'stop' }), { after: 'stop' });
  assert.equal(field(() => parseSnapshot({ after: 1 })), 'after');
  assert.deepEqual(parseRestore({}), { archive: null });
  assert.deepEqual(parseRestore({ version: 'v3' }), { archive: 'v3' });
  assert.equal(field(() => parseRestore({ archive: '../x' })), 'archive');
});

test('archive bodies: defaults, format aliases, paths normalised and bounded', () => {
  assert.deepEqual(parseArchiveCreate({}), { version: null, format: 'tar.zst', vmPaths: [], excludeVmPaths: [] });
  const c = parseArchiveCreate({ version: 'rel-1.2_x', format: 'gzip', vm_paths: ['/srv//app/', '/srv/app', '/etc/./x'] });
  assert.deepEqual([c.format, c.vmPaths], ['tar.gz', ['/srv/app', '/etc/x']]);
  assert.equal(field(() => parseArchiveCreate({ format: 'rar' })), 'format');
  assert.equal(field(() => parseArchiveCreate({ vm_paths: ['/a/../../etc'] })), 'vm_paths[0]');
  assert.equal(field(() => parseArchiveCreate({ vm_paths: ['/'] })), 'vm_paths[0]');
  assert.equal(field(() => parseArchiveCreate({ exclude_vm_paths: 'x' })), 'exclude_vm_paths');
  assert.equal(field(() => parseArchiveCreate({ vm_paths: Array.from({ length: 65 }, (_, i) => `/p${i}`) })), 'vm_paths');
  assert.equal(field(() => parseArchiveCreate({ version: '.hidden' })), 'version');
  assert.equal(parseVmPath('/a/b/', 'p'), '/a/b');
  assert.equal(archiveFileName('v1', 'tar.zst'), 'v1.tar.zst');
  assert.throws(() => parseVersion('a/b'));
});

test('fork bodies', () => {
  assert.deepEqual(parseFork({}), { count: 1, name: null });
  assert.deepEqual(parseFork({ count: '3', name: 'x' }), { count: 3, name: 'x' });
  for (const count of [0, 11, 2.5, 'many']) assert.equal(field(() => parseFork({ count })), 'count');
  assert.equal(field(() => parseFork({ name: 'n'.repeat(241) })), 'name');
});

test('resources bodies: numbers or numeric strings, aliases, apply, at least one field', () => {
  assert.deepEqual(parseResources({ cpus: 2, memory_mb: '512.4' }), { cpus: 2, memory_mb: 512, apply: true });
  assert.deepEqual(parseResources({ writable_size_mb: 1024, apply: false }), { disk_size_mb: 1024, apply: false });
  assert.equal(field(() => parseResources({ memory_mb: -1 })), 'memory_mb');
  assert.equal(field(() => parseResources({ apply: 'yes', cpus: 1 })), 'apply');
  assert.equal(field(() => parseResources({})), 'body');
  assert.deepEqual(parseOverlayResize({ size_mb: 2048 }), { disk_size_mb: 2048, apply: true });
  assert.equal(field(() => parseOverlayResize({})), 'size_mb');
});

test('idle and destroy bodies', () => {
  assert.deepEqual(parseIdle({ suspend_after: '15m', stop_after: '72h' }), { suspend_after: 900, stop_after: 259200 });
  assert.equal(parseIdle({ suspend_after: 0 }), null, 'setIdle(null) sends suspend_after: 0');
  assert.equal(field(() => parseIdle({})), 'suspend_after');
  assert.equal(field(() => parseIdle({ suspend_after: '5x' })), 'suspend_after');
  assert.deepEqual(parseDestroy({}, {}), { archive: null });
  assert.deepEqual(parseDestroy({ archive: 'true' }, {}), { archive: true });
  assert.deepEqual(parseDestroy({}, { archive: 'final' }), { archive: 'final' });
  assert.equal(field(() => parseDestroy({ archive: '../x' }, {})), 'archive');
});
