/**
 * kill -9 of the server in the middle of a snapshot, an archive and a fork, then a
 * restart on the same data dir: what was interrupted is either undone (no pending
 * snapshot, no half-written archive file, no orphaned layer or temporary mount) or
 * finished (forks whose records existed come up with the source's files). A fault
 * hook (WARREN_TEST_SNAPSHOT_HOLD_MS, WARREN_TEST_EXPORT_HOLD_MS, WARREN_TEST_SLOW_START_MS) proves the operation
 * was in flight when the server died.
 */
import { afterEach, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { api, startServer, type TestServer } from '../support/warren.js';
import { ensureTestImages } from '../support/images.js';
import { adminClient, openRuntime, treeHash, makeTree, until, waitForStatus } from '../support/workspaces.js';

let server: TestServer | undefined;

before(async () => {
  await ensureTestImages(['debian-12']);
});
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

async function waitForLog(s: TestServer, text: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!s.logs.some((l) => l.includes(text))) {
    if (Date.now() > deadline) throw new Error(`no log line "${text}"`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Every file below `dir`, relative. */
function files(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(dir.length + 1));
}

function leftovers(s: TestServer) {
  const pool = join(s.dataDir, 'pool');
  return { snapshots: files(join(pool, 'snapshots')), scratch: readdirSync(join(pool, 'scratch')), archives: files(join(s.dataDir, 'archives')) };
}

test('SIGKILL during a snapshot and during an archive: restart leaves the old state, nothing half-made', async () => {
  server = await startServer({ env: { WARREN_TEST_SNAPSHOT_HOLD_MS: '60000' } });
  const s = server;
  const client = adminClient(s);
  const ws = await client.workspaces.create({ image: 'debian-12', memory_mb: 128 });
  const rt = await openRuntime(client, s, ws.id);
  await rt.exec.run(['sh', '-c', 'head -c 20000000 /dev/urandom > /root/blob']);

  void api(s, 'POST', `/workspace/${ws.id}/snapshot`).catch(() => undefined);
  await waitForLog(s, 'test hook: holding a snapshot');
  assert.equal(leftovers(s).snapshots.length, 1, 'the snapshot file exists while its row is pending');
  await s.kill();
  await s.restart({});
  assert.deepEqual(leftovers(s).snapshots, [], 'a pending snapshot outlived the crash');
  assert.equal((await rt.exec.run(['sh', '-c', 'echo thawed > /root/t && cat /root/t'])).stdout, 'thawed\n');
  assert.equal((await api(s, 'POST', `/workspace/${ws.id}/restore`)).status, 404, 'an unfinished snapshot became restorable');

  await s.kill();
  await s.restart({ WARREN_TEST_EXPORT_HOLD_MS: '60000' });
  void api(s, 'POST', `/workspace/${ws.id}/archives`, { version: 'half' }).catch(() => undefined);
  await waitForLog(s, 'test hook: holding an archive export');
  // The hook logs at the export's first chunk; the writer's temporary file is opened asynchronously beside it
  // (a busy host's fs threads can lag), so it is awaited rather than expected at that very moment.
  await until('the archive is half written', async () => leftovers(s).archives.some((f) => f.includes('.tmp-')), 10_000);
  await s.kill();
  await s.restart({});
  const left = leftovers(s);
  assert.deepEqual(left.archives, [], `half archive left: ${left.archives.join(', ')}`);
  assert.deepEqual(left.snapshots, []);
  assert.deepEqual(left.scratch, [], 'a temporary mount or image survived');
  assert.deepEqual(await client.workspaces.snapshots.listArchives(ws.id), []);
  const full: any = await client.workspaces.snapshots.createArchive(ws.id, { version: 'half' });
  assert.equal(full.status, 'ready', 'the version is free again');
});

test('SIGKILL during a fork: before the forks exist nothing stays; once they exist they finish from the seed', async () => {
  server = await startServer({ env: { WARREN_TEST_SNAPSHOT_HOLD_MS: '60000' } });
  const s = server;
  const client = adminClient(s);
  const src = await client.workspaces.create({ image: 'debian-12', memory_mb: 128 });
  const rt = await openRuntime(client, s, src.id);
  await makeTree(rt, '/root/tree', 100);
  const hash = await treeHash(rt, '/root/tree');

  void api(s, 'POST', `/workspace/${src.id}/fork`, { count: 2 }).catch(() => undefined);
  await waitForLog(s, 'test hook: holding a snapshot');
  await s.kill();
  await s.restart({ WARREN_TEST_SLOW_START_MS: '60000' });
  assert.deepEqual(leftovers(s).snapshots, [], 'the seed of a fork that never got its workspaces survived');
  assert.equal((await client.workspaces.list()).workspaces.length, 1);

  void api(s, 'POST', `/workspace/${src.id}/fork`, { count: 2 }).catch(() => undefined);
  let forks: any[] = [];
  for (const deadline = Date.now() + 30_000; forks.length < 2 && Date.now() < deadline;) {
    forks = (await client.workspaces.list()).workspaces.filter((w: any) => w.id !== src.id);
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(forks.length, 2, 'the forks were recorded');
  assert.ok(forks.every((f: any) => f.status === 'creating'));
  await new Promise((r) => setTimeout(r, 500)); // the creates are provably in flight (each start waits 60 s)
  await s.kill();
  await s.restart({});
  for (const f of forks) {
    await waitForStatus(s, f.id, 'running', 60_000);
    assert.equal(await treeHash(await openRuntime(client, s, f.id), '/root/tree'), hash);
  }
  assert.deepEqual(leftovers(s).snapshots, [], 'the fork seed outlived its forks');
});
