// Owner records in a run dir of our own (WARREN_RUN_DIR): exclusive creation, replacement,
// removal only by the owner, listing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listRecords, readRecord, recordPath, removeRecord, writeRecord } from './owner-records.js';
import type { OwnerRecord } from './bridge-owner.js';

function rec(bridge: string, dataDir: string, pid = 1): OwnerRecord {
  return {
    bridge, subnet: '10.9.0.0/24', dataDir, instanceId: 'abcd', driver: 'ns', pid, startedAt: 'now',
    tables: { inet: 'warren_abcd', bridge: 'warren_l2_abcd' },
  };
}

test('owner records: created once, replaced by their owner, removed only by their owner', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'warren-run-'));
  const before = process.env.WARREN_RUN_DIR;
  process.env.WARREN_RUN_DIR = dir;
  t.after(async () => {
    if (before === undefined) delete process.env.WARREN_RUN_DIR;
    else process.env.WARREN_RUN_DIR = before;
    await rm(dir, { recursive: true, force: true });
  });
  assert.equal(await readRecord('br0'), null);
  assert.equal(await writeRecord(rec('br0', '/srv/a'), true), true);
  assert.equal(await writeRecord(rec('br0', '/srv/b'), true), false, 'a second exclusive claim loses');
  assert.equal((await readRecord('br0'))?.dataDir, '/srv/a');
  assert.equal(await writeRecord(rec('br0', '/srv/a', 99), false), true);
  assert.equal((await readRecord('br0'))?.pid, 99);
  await removeRecord('br0', '/srv/b');
  assert.equal((await readRecord('br0'))?.dataDir, '/srv/a', 'another data dir cannot remove it');
  await writeRecord(rec('br1', '/srv/c'), true);
  await writeFile(recordPath('br2'), 'not json');
  assert.deepEqual((await listRecords()).map((r) => r.bridge), ['br0', 'br1'], 'unreadable records are skipped');
  await removeRecord('br0', '/srv/a');
  assert.equal(await readRecord('br0'), null);
  assert.throws(() => recordPath('../etc'), /invalid bridge name/);
});
