// ensureHostLimits against a /proc/sys of our own: owned limits are raised only when
// lower, never lowered; the others are only reported; missing files are skipped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ensureHostLimits, HOST_LIMITS, NOFILE_FLOOR } from './limits.js';

async function fakeProc(values: Record<string, string>): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'warren-limits-'));
  for (const [key, value] of Object.entries(values)) {
    const path = join(root, 'sys', ...key.split('.'));
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, `${value}\n`);
  }
  await writeFile(join(root, 'limits'), 'Limit                     Soft Limit           Hard Limit           Units     \nMax open files            1024                 524288               files     \n');
  return root;
}

const floor = (key: string) => HOST_LIMITS.find((l) => l.key === key)!.floor;

test('raises owned limits that are low, keeps higher ones, only reports the rest', async (t) => {
  const root = await fakeProc({
    'net.ipv4.neigh.default.gc_thresh3': '1024',
    'net.ipv4.neigh.default.gc_thresh1': '999999',
    'fs.inotify.max_user_instances': '128',
    'kernel.pid_max': '32768',
    'net.netfilter.nf_conntrack_max': '4194304',
  });
  t.after(() => rm(root, { recursive: true, force: true }));
  const logs: Array<{ level: string; fields: Record<string, unknown> }> = [];
  const out = await ensureHostLimits((level, _msg, fields) => logs.push({ level, fields }), { procSys: join(root, 'sys'), procSelf: root });
  const read = async (key: string) => Number((await readFile(join(root, 'sys', ...key.split('.')), 'utf8')).trim());

  assert.equal(await read('net.ipv4.neigh.default.gc_thresh3'), floor('net.ipv4.neigh.default.gc_thresh3'));
  assert.equal(await read('fs.inotify.max_user_instances'), floor('fs.inotify.max_user_instances'));
  assert.equal(await read('net.ipv4.neigh.default.gc_thresh1'), 999999, 'never lowered');
  assert.equal(await read('kernel.pid_max'), 32768, 'not Warren\'s: only reported');
  const byKey = Object.fromEntries(out.map((o) => [o.key, o]));
  assert.deepEqual(byKey['net.ipv4.neigh.default.gc_thresh3'], { key: 'net.ipv4.neigh.default.gc_thresh3', before: 1024, after: floor('net.ipv4.neigh.default.gc_thresh3'), status: 'raised' });
  assert.equal(byKey['net.ipv4.neigh.default.gc_thresh1']!.status, 'ok');
  assert.equal(byKey['kernel.pid_max']!.status, floor('kernel.pid_max') > 32768 ? 'low' : 'ok');
  assert.equal(byKey['net.netfilter.nf_conntrack_max']!.status, 'ok');
  assert.equal(byKey['net.ipv6.neigh.default.gc_thresh3'], undefined, 'missing files are skipped');
  assert.deepEqual(byKey['RLIMIT_NOFILE'], { key: 'RLIMIT_NOFILE', before: 1024, after: 1024, status: 'low' });
  assert.ok(NOFILE_FLOOR > 1024);
  assert.ok(logs.some((l) => l.level === 'info' && l.fields.key === 'fs.inotify.max_user_instances' && l.fields.from === 128));
  assert.ok(logs.some((l) => l.level === 'warn' && l.fields.value === 1024 && l.fields.recommended === NOFILE_FLOOR));

  // A second start changes nothing.
  const again = await ensureHostLimits(() => {}, { procSys: join(root, 'sys'), procSelf: root });
  assert.ok(again.every((o) => o.status !== 'raised'));
});

