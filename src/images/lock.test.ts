import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { acquireLock, lockOwner, ownerAlive, processStartTime } from './lock.js';

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'warren-lock-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A pid that certainly belonged to a process that has exited. */
function deadPid(): number {
  const r = spawnSync('sh', ['-c', 'echo $$']);
  return Number(String(r.stdout).trim());
}

test('processStartTime reads this process and rejects unknown pids', () => {
  assert.match(processStartTime(process.pid) ?? '', /^\d+$/);
  assert.equal(ownerAlive(process.pid), true);
  assert.equal(ownerAlive(process.pid, '1'), false, 'recycled pid (other start time) is not the owner');
  assert.equal(ownerAlive(deadPid()), false);
});

test('acquire writes pid, release removes the file', async (t) => {
  const path = join(tempDir(t), 'x.lock');
  const lock = await acquireLock(path);
  assert.match(readFileSync(path, 'utf8'), new RegExp(`^${process.pid} \\d+\\n$`));
  assert.equal(await lockOwner(path), process.pid);
  await lock.release();
  assert.equal(existsSync(path), false);
  assert.equal(await lockOwner(path), null);
});

test('a lock from a dead pid is taken over', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'x.lock');
  writeFileSync(path, `${deadPid()}\n`);
  assert.equal(await lockOwner(path), null);
  const lock = await acquireLock(path, { timeoutMs: 2000 });
  assert.ok(readFileSync(path, 'utf8').startsWith(`${process.pid} `));
  await lock.release();
  assert.deepEqual(readdirSync(dir), [], 'no stale leftovers');
});

test('a lock held by a live process makes others wait until it is released', async (t) => {
  const path = join(tempDir(t), 'x.lock');
  const first = await acquireLock(path);
  let waitedFor = 0;
  let secondHeld = false;
  const second = acquireLock(path, { pollMs: 20, onWait: (pid) => { waitedFor = pid; } })
    .then((l) => { secondHeld = true; return l; });
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(secondHeld, false);
  assert.equal(waitedFor, process.pid);
  await first.release();
  const l2 = await second;
  assert.equal(secondHeld, true);
  await l2.release();
});

test('a live foreign lock times out', async (t) => {
  const path = join(tempDir(t), 'x.lock');
  writeFileSync(path, '1\n'); // pid 1 is always alive
  await assert.rejects(acquireLock(path, { timeoutMs: 100, pollMs: 20 }), /timed out/);
  assert.equal(readFileSync(path, 'utf8'), '1\n', 'foreign lock untouched');
});

test('a lock in a directory that does not exist yet makes the directory (a fresh machine)', async (t) => {
  const path = join(tempDir(t), 'images', 'nested', 'layer-base.lock');
  const lock = await acquireLock(path);
  assert.equal(existsSync(path), true);
  await lock.release();
  assert.equal(existsSync(path), false);
});
