/**
 * Snapshots, archives and fork through the official client on a real server (XFS
 * copy-on-write pool, Warren's default storage here): a restore brings back exactly
 * the files of the snapshot's instant, on a running and on a stopped workspace; files
 * survive ten pause/resume cycles; an archive round-trips with its checksum and a
 * flipped byte makes a restore refuse it; forks start from the source's files and keep
 * their writes to themselves.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { api, startServer, type TestServer } from '../support/warren.js';
import { ensureTestImages } from '../support/images.js';
import { adminClient, makeTree, openRuntime, treeHash, waitForStatus, type Client } from '../support/workspaces.js';

let server: TestServer;
let client: Client;

before(async () => {
  await ensureTestImages(['debian-12']);
  server = await startServer();
  client = adminClient(server);
});
after(async () => server?.stop());

async function fresh(memory = 256) {
  const ws = await client.workspaces.create({ image: 'debian-12', memory_mb: memory });
  return { ws, rt: await openRuntime(client, server, ws.id) };
}

test('snapshot → change files → restore brings back the tree of that instant (running, then stopped)', async () => {
  const { ws, rt } = await fresh();
  try {
    await makeTree(rt, '/root/tree', 1000);
    const before = await treeHash(rt, '/root/tree');
    const snap: any = await client.workspaces.snapshots.create(ws.id, {});
    assert.equal(snap.snapshot.mode, 'filesystem');
    assert.equal(snap.snapshot.memory, false);
    assert.match(snap.snapshot.memory_unavailable_reason, /memory/);
    assert.equal(snap.snapshot.copy_on_write, true);
    assert.equal(snap.workspace.status, 'running');
    await rt.exec.run(['sh', '-c', 'rm -r /root/tree/a && echo x > /root/tree/b/f1 && echo new > /root/tree/n']);
    assert.notEqual(await treeHash(rt, '/root/tree'), before);
    const restored: any = await client.workspaces.snapshots.restore(ws.id);
    assert.equal(restored.restored.source, 'snapshot');
    assert.equal(restored.workspace.status, 'running');
    assert.equal(await treeHash(rt, '/root/tree'), before);

    await rt.exec.run(['sh', '-c', 'echo later > /root/tree/later']);
    await client.workspaces.stop(ws.id);
    await client.workspaces.snapshots.create(ws.id, {});
    await client.workspaces.start(ws.id);
    await rt.exec.run(['sh', '-c', 'rm /root/tree/later && echo y > /root/tree/a/f2']);
    await client.workspaces.stop(ws.id);
    const back: any = await client.workspaces.snapshots.restore(ws.id);
    assert.equal(back.workspace.status, 'stopped', 'a stopped workspace stays stopped');
    await client.workspaces.start(ws.id);
    const r = await rt.exec.run(['sh', '-c', 'cat /root/tree/later && rm /root/tree/later']);
    assert.equal(r.stdout, 'later\n');
    assert.equal(await treeHash(rt, '/root/tree'), before);
  } finally {
    await client.workspaces.delete(ws.id);
  }
});

test('snapshot with after: paused and after: stop; lifecycle reports snapshot support', async () => {
  const { ws } = await fresh();
  try {
    const paused: any = await client.workspaces.snapshots.create(ws.id, { after: 'paused' });
    assert.equal(paused.workspace.status, 'paused');
    await client.workspaces.resume(ws.id);
    const stopped: any = await client.workspaces.snapshots.create(ws.id, { after: 'stop' });
    assert.equal(stopped.workspace.status, 'stopped');
    const lc: any = await client.workspaces.lifecycle.get(ws.id);
    assert.equal(lc.snapshot_supported, true);
    assert.equal(lc.snapshot_unavailable_reason, null);
    assert.equal(lc.memory_snapshot_supported, false);
    const bad = await api(server, 'POST', `/workspace/${ws.id}/snapshot`, { after: 'sideways' });
    assert.equal(bad.status, 422);
    assert.equal(bad.body.details.field, 'after');
  } finally {
    await client.workspaces.delete(ws.id);
  }
});

test('restore without a snapshot is 404 with details.field snapshot', async () => {
  const { ws } = await fresh(128);
  try {
    const r = await api(server, 'POST', `/workspace/${ws.id}/restore`);
    assert.equal(r.status, 404);
    assert.equal(r.body.details.field, 'snapshot');
  } finally {
    await client.workspaces.delete(ws.id);
  }
});

test('pause → resume ten times in a row leaves the files intact', async () => {
  const { ws, rt } = await fresh();
  try {
    await makeTree(rt, '/root/p', 200);
    const hash = await treeHash(rt, '/root/p');
    for (let i = 0; i < 10; i++) {
      await client.workspaces.pause(ws.id);
      await client.workspaces.resume(ws.id);
      assert.equal(await treeHash(rt, '/root/p'), hash, `cycle ${i}`);
    }
  } finally {
    await client.workspaces.delete(ws.id);
  }
});

test('archive round trip with its checksum; a flipped byte makes restore refuse it and change nothing', async () => {
  const { ws, rt } = await fresh();
  try {
    await makeTree(rt, '/root/arch', 300);
    const hash = await treeHash(rt, '/root/arch');
    const a: any = await client.workspaces.snapshots.createArchive(ws.id, {});
    assert.equal(a.version, 'v1');
    assert.equal(a.status, 'ready');
    assert.equal(a.format, 'tar.zst');
    const file = join(server.dataDir, 'archives', ws.id, 'v1.tar.zst');
    const bytes = readFileSync(file);
    assert.equal(a.sha256, createHash('sha256').update(bytes).digest('hex'));
    assert.equal(a.size_bytes, bytes.length);
    const named: any = await client.workspaces.snapshots.createArchive(ws.id, { version: 'etc-only', format: 'gzip', vm_paths: ['/etc'], exclude_vm_paths: ['/etc/apt'] });
    assert.equal(named.kind, 'files');
    assert.equal(named.format, 'tar.gz');
    const list = await client.workspaces.snapshots.listArchives(ws.id);
    assert.deepEqual(list.map((x: any) => x.version), ['v1', 'etc-only']);
    assert.equal(((await client.workspaces.snapshots.getArchive(ws.id, 'v1')) as any).version, 'v1');

    await rt.exec.run(['sh', '-c', 'rm -r /root/arch/a']);
    const restored = await api(server, 'POST', `/workspace/${ws.id}/restore`, { archive: 'v1' });
    assert.equal(restored.status, 200, restored.text);
    assert.equal(await treeHash(rt, '/root/arch'), hash);

    await rt.exec.run(['sh', '-c', 'echo changed > /root/arch/b/f1']);
    const flipped = Buffer.from(bytes);
    flipped[Math.floor(flipped.length / 2)]! ^= 0x40;
    writeFileSync(file, flipped);
    const refused = await api(server, 'POST', `/workspace/${ws.id}/restore`, { archive: 'v1' });
    assert.equal(refused.status, 409);
    assert.equal(refused.body.code, 'archive_corrupted');
    assert.equal(refused.body.details.field, 'archive');
    assert.doesNotMatch(refused.text, /\/tmp|warren-e2e|zstd|tar /, 'no internal text in the error');
    assert.equal((await rt.exec.run(['cat', '/root/arch/b/f1'])).stdout, 'changed\n', 'the workspace was not touched');
    assert.equal((await client.workspaces.get(ws.id)).status, 'running');

    const dup = await api(server, 'POST', `/workspace/${ws.id}/archives`, { version: 'v1' });
    assert.equal(dup.status, 409);
    assert.equal(dup.body.details.field, 'version');
    const badPath = await api(server, 'POST', `/workspace/${ws.id}/archives`, { vm_paths: ['relative/path'] });
    assert.equal(badPath.body.details.field, 'vm_paths[0]');
    const missing = await api(server, 'POST', `/workspace/${ws.id}/archives`, { vm_paths: ['/nope'] });
    assert.equal(missing.status, 422);
    assert.equal(missing.body.details.field, 'vm_paths');
    assert.equal((await api(server, 'GET', `/workspace/${ws.id}/archives/nope`)).status, 404);

    await client.workspaces.snapshots.deleteArchive(ws.id, 'etc-only', { delete_file: true });
    const all: any = await client.workspaces.snapshots.deleteAllArchives(ws.id);
    assert.deepEqual(all.deleted, ['v1']);
    assert.deepEqual(await client.workspaces.snapshots.listArchives(ws.id), []);
  } finally {
    await client.workspaces.delete(ws.id);
  }
});

test('fork: three workspaces with the source\'s files, their own addresses and tokens, private writes', async () => {
  const { ws, rt } = await fresh();
  try {
    await makeTree(rt, '/root/f', 200);
    const hash = await treeHash(rt, '/root/f');
    await client.workspaces.network.update(ws.id, { ingress_ports: [8080] });
    const res = await api(server, 'POST', `/workspace/${ws.id}/fork`, { count: 3, name: 'branch' });
    assert.equal(res.status, 201, res.text);
    const forks = res.body.workspaces as any[];
    assert.equal(forks.length, 3);
    assert.deepEqual(forks.map((f) => f.name), ['branch-fork-1', 'branch-fork-2', 'branch-fork-3']);
    const ips = new Set([ws.ip, ...forks.map((f) => f.ip)]);
    assert.equal(ips.size, 4, 'each fork has its own address');
    const rts = [];
    for (const f of forks) {
      assert.equal(f.status, 'running');
      assert.deepEqual(f.network.ingress_ports, [], 'network policy reset');
      rts.push(await openRuntime(client, server, f.id));
    }
    for (const [i, frt] of rts.entries()) {
      assert.equal(await treeHash(frt, '/root/f'), hash);
      await frt.exec.run(['sh', '-c', `echo fork${i} > /root/f/mine`]);
    }
    for (const [i, frt] of rts.entries()) assert.equal((await frt.exec.run(['cat', '/root/f/mine'])).stdout, `fork${i}\n`);
    assert.notEqual((await rt.exec.run(['cat', '/root/f/mine'])).exit_code, 0, 'the source saw a fork\'s write');
    const tooMany = await api(server, 'POST', `/workspace/${ws.id}/fork`, { count: 11 });
    assert.equal(tooMany.status, 422);
    assert.equal(tooMany.body.details.field, 'count');
    for (const f of forks) await client.workspaces.delete(f.id);
    await waitForStatus(server, ws.id, 'running');
  } finally {
    await client.workspaces.delete(ws.id);
  }
});

test('an archive that no longer fits is refused with its code and the workspace comes back as it was', async () => {
  const ws = await client.workspaces.create({ image: 'debian-12', memory_mb: 256, disk_size_mb: 256 });
  try {
    const rt = await openRuntime(client, server, ws.id);
    await rt.exec.run(['sh', '-c', 'head -c 100000000 /dev/urandom > /root/a']);
    await client.workspaces.snapshots.createArchive(ws.id, { version: 'only-a', vm_paths: ['/root/a'] });
    await rt.exec.run(['sh', '-c', 'mv /root/a /root/c && head -c 100000000 /dev/urandom > /root/b && echo mark > /root/mark']);
    const res = await api(server, 'POST', `/workspace/${ws.id}/restore`, { archive: 'only-a' });
    assert.equal(res.status, 409, res.text);
    assert.equal(res.body.code, 'archive_too_large');
    const after = await client.workspaces.get(ws.id);
    assert.equal(after.status, 'running', 'the workspace was left failed');
    assert.equal((await rt.exec.run(['sh', '-c', 'cat /root/mark; test -e /root/a || echo no-a'])).stdout, 'mark\nno-a\n');
  } finally {
    await client.workspaces.delete(ws.id);
  }
});
