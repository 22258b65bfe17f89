import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { digestFile, readBackup, writeBackup } from './archive.js';
import { BackupError } from './errors.js';
import { FORMAT, FORMAT_VERSION, isSafeEntryName, parseManifest, type Manifest } from './manifest.js';

test('entry names: plain relative paths only', () => {
  for (const ok of ['warren.db', 'secrets/gateway-signing.key', 'a/b/c.json', '.hidden']) assert.equal(isSafeEntryName(ok), true, ok);
  for (const bad of ['', '/etc/passwd', '../evil', 'a/../b', 'a/./b', '.', '..', 'a//b', 'a/', 'sp ace', 'a\\b', 'é']) {
    assert.equal(isSafeEntryName(bad), false, bad);
  }
});

function manifestOf(files: Manifest['files']): Manifest {
  return { format: FORMAT, format_version: FORMAT_VERSION, warren_version: '0.0.0', schema_version: 1, created_at: new Date().toISOString(), files };
}

function kindOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return err instanceof BackupError ? err.kind : `other: ${String(err)}`;
  }
  return 'none';
}

test('a manifest is refused when it is not ours, newer, or names unsafe or repeated paths', () => {
  const f = { path: 'warren.db', size: 1, mode: 0o600, sha256: 'a'.repeat(64) };
  assert.equal(kindOf(() => parseManifest(JSON.stringify(manifestOf([f])))), 'none');
  assert.equal(kindOf(() => parseManifest('{')), 'corrupt');
  assert.equal(kindOf(() => parseManifest(JSON.stringify({ ...manifestOf([f]), format: 'other' }))), 'corrupt');
  assert.equal(kindOf(() => parseManifest(JSON.stringify({ ...manifestOf([f]), format_version: FORMAT_VERSION + 1 }))), 'unsupported');
  assert.equal(kindOf(() => parseManifest(JSON.stringify(manifestOf([{ ...f, path: '../x' }])))), 'unsafe_entry');
  assert.equal(kindOf(() => parseManifest(JSON.stringify(manifestOf([{ ...f, path: 'manifest.json' }])))), 'unsafe_entry');
  assert.equal(kindOf(() => parseManifest(JSON.stringify(manifestOf([f, f])))), 'corrupt');
  assert.equal(kindOf(() => parseManifest(JSON.stringify(manifestOf([{ ...f, mode: 0o4755 }])))), 'corrupt');
});

test('written atomically 0600, read back and staged with the digests checked', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'warren-backup-unit-'));
  try {
    writeFileSync(join(dir, 'a'), 'alpha\n');
    writeFileSync(join(dir, 'b'), Buffer.alloc(300_000, 7));
    const files = [{ path: 'warren.db', from: join(dir, 'b'), mode: 0o600 }, { path: 'secrets/k', from: join(dir, 'a'), mode: 0o640 }];
    const manifest = manifestOf([]);
    for (const f of files) manifest.files.push({ path: f.path, mode: f.mode, ...(await digestFile(f.from)) });
    const out = join(dir, 'out.tar.gz');
    await writeBackup(out, manifest, files);
    assert.equal(statSync(out).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(dir).sort(), ['a', 'b', 'out.tar.gz']);
    assert.deepEqual(await readBackup(out), manifest);
    const stage = mkdtempSync(join(dir, 'stage-'));
    await readBackup(out, stage);
    assert.equal(readFileSync(join(stage, 'secrets/k'), 'utf8'), 'alpha\n');
    assert.equal(statSync(join(stage, 'warren.db')).size, 300_000);

    const lying = manifestOf(manifest.files.map((f) => (f.path === 'secrets/k' ? { ...f, sha256: '0'.repeat(64) } : f)));
    await writeBackup(join(dir, 'lying.tar.gz'), lying, files);
    await assert.rejects(readBackup(join(dir, 'lying.tar.gz')), (e: unknown) => e instanceof BackupError && e.kind === 'checksum_mismatch');
    const missing = manifestOf([...manifest.files, { path: 'prices.json', size: 0, mode: 0o600, sha256: '0'.repeat(64) }]);
    await writeBackup(join(dir, 'missing.tar.gz'), missing, files);
    await assert.rejects(readBackup(join(dir, 'missing.tar.gz')), (e: unknown) => e instanceof BackupError && e.kind === 'corrupt');
    await assert.rejects(readBackup(join(dir, 'nope')), (e: unknown) => e instanceof BackupError && e.kind === 'not_found');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
