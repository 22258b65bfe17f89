import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ArchiveFiles, ArchiveIntegrityError, archiveFileName } from './archive-files.js';
import type { ArchiveFormat } from '../contract/layers.js';

function fixture(t: { after(fn: () => void): void }): { root: string; files: ArchiveFiles } {
  const root = mkdtempSync(join(tmpdir(), 'warren-archives-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  return { root, files: new ArchiveFiles(root) };
}

async function drain(r: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

for (const format of ['tar.zst', 'tar.gz'] as ArchiveFormat[]) {
  test(`${format}: write is checksummed and round-trips; a flipped byte or a truncation fails the read`, async (t) => {
    const { root, files } = fixture(t);
    const data = Buffer.concat([randomBytes(300_000), Buffer.alloc(700_000, 7)]);
    const file = archiveFileName('v1', format);
    const stored = await files.write('ws_1', file, format, Readable.from([data.subarray(0, 5000), data.subarray(5000)]));
    const onDisk = readFileSync(join(root, 'ws_1', file));
    assert.equal(stored.bytes, onDisk.length);
    assert.equal(stored.sha256, createHash('sha256').update(onDisk).digest('hex'));
    assert.equal(await files.checksum('ws_1', file), stored.sha256);
    assert.deepEqual(await drain(files.read('ws_1', file, format, stored.sha256)), data);

    const flipped = Buffer.from(onDisk);
    flipped[Math.floor(flipped.length / 2)]! ^= 0x01;
    writeFileSync(join(root, 'ws_1', file), flipped);
    assert.notEqual(await files.checksum('ws_1', file), stored.sha256);
    await assert.rejects(drain(files.read('ws_1', file, format, stored.sha256)), ArchiveIntegrityError);

    writeFileSync(join(root, 'ws_1', file), onDisk.subarray(0, onDisk.length - 100));
    await assert.rejects(drain(files.read('ws_1', file, format, stored.sha256)), ArchiveIntegrityError);
    assert.equal(await files.checksum('ws_1', 'missing.tar.zst'), null);
  });
}

test('a failed write leaves no file; sweep removes leftovers and lists complete files', async (t) => {
  const { root, files } = fixture(t);
  const broken = new Readable({ read() { this.destroy(new Error('source died')); } });
  await assert.rejects(files.write('ws_2', 'v1.tar.zst', 'tar.zst', broken), /source died/);
  assert.deepEqual(readdirSync(join(root, 'ws_2')), []);
  await files.write('ws_2', 'v2.tar.gz', 'tar.gz', Readable.from([Buffer.from('x')]));
  writeFileSync(join(root, 'ws_2', 'v3.tar.zst.tmp-123-456'), 'half');
  assert.deepEqual(await files.sweep(), [{ workspaceId: 'ws_2', file: 'v2.tar.gz' }]);
  assert.deepEqual(readdirSync(join(root, 'ws_2')), ['v2.tar.gz']);
  await files.removeAll('ws_2');
  assert.deepEqual(await files.sweep(), []);
});

test('names that could leave the archive directory are refused', async (t) => {
  const { files } = fixture(t);
  assert.throws(() => archiveFileName('../x', 'tar.zst'));
  await assert.rejects(files.remove('../etc', 'passwd'));
  await assert.rejects(files.checksum('ws_1', '../../etc/passwd'));
});
