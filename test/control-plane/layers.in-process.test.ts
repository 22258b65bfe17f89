/**
 * Snapshot, restore, fork and archives in this process (test/support/in-process.ts):
 * the memory driver's layers are maps of files, reached through its agent's
 * /_memory/files on the workspace's loopback address.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startInProcess, type InProcessWarren } from '../support/in-process.js';

let w: InProcessWarren;

before(async () => {
  w = await startInProcess();
});
after(async () => w?.close());

function filesUrl(ip: string, path: string): string {
  return `http://${ip}:9990/_memory/files?path=${encodeURIComponent(path)}`;
}

async function writeFile(ip: string, path: string, text: string): Promise<void> {
  assert.equal((await fetch(filesUrl(ip, path), { method: 'PUT', body: text })).status, 200);
}

async function readFile(ip: string, path: string): Promise<string | null> {
  const res = await fetch(filesUrl(ip, path));
  return res.status === 404 ? null : ((await res.json()) as { text: string }).text;
}

test('snapshot → change → restore brings the files back; a fork starts from the snapshot', async () => {
  const ws = (await w.request('POST', '/workspace', { image: 'node-20' })).body.workspace;
  await writeFile(ws.ip, '/root/v', 'one');
  const snap = await w.request('POST', `/workspace/${ws.id}/snapshot`, {});
  assert.equal(snap.status, 201, JSON.stringify(snap.body));
  assert.equal(snap.body.snapshot.memory, false);
  await writeFile(ws.ip, '/root/v', 'two');
  await writeFile(ws.ip, '/root/extra', 'x');

  const restored = await w.request('POST', `/workspace/${ws.id}/restore`, {});
  assert.equal(restored.status, 200, JSON.stringify(restored.body));
  assert.equal(restored.body.restored.source, 'snapshot');
  assert.equal(restored.body.workspace.status, 'running');
  assert.equal(await readFile(ws.ip, '/root/v'), 'one');
  assert.equal(await readFile(ws.ip, '/root/extra'), null);

  const forked = await w.request('POST', `/workspace/${ws.id}/fork`, {});
  assert.equal(forked.status, 201, JSON.stringify(forked.body));
  const fork = forked.body.workspaces[0];
  assert.notEqual(fork.ip, ws.ip);
  assert.equal(await readFile(fork.ip, '/root/v'), 'one');
  await writeFile(fork.ip, '/root/v', 'fork');
  assert.equal(await readFile(ws.ip, '/root/v'), 'one', 'a fork\'s write stays its own');

  for (const id of [fork.id, ws.id]) assert.equal((await w.request('DELETE', `/workspace/${id}`)).status, 200);
});

test('an archive round trip: create, change, restore from the archive', async () => {
  const ws = (await w.request('POST', '/workspace', { image: 'debian-12' })).body.workspace;
  await writeFile(ws.ip, '/srv/app/main', 'code');
  const archive = await w.request('POST', `/workspace/${ws.id}/archives`, {});
  assert.equal(archive.status, 201, JSON.stringify(archive.body));
  await writeFile(ws.ip, '/srv/app/main', 'changed');
  const restored = await w.request('POST', `/workspace/${ws.id}/restore`, { archive: archive.body.version });
  assert.equal(restored.status, 200, JSON.stringify(restored.body));
  assert.equal(restored.body.restored.source, 'archive');
  assert.equal(await readFile(ws.ip, '/srv/app/main'), 'code');
  assert.equal((await w.request('DELETE', `/workspace/${ws.id}`)).status, 200);
});

test('restore without a snapshot is a 404 with field snapshot', async () => {
  const ws = (await w.request('POST', '/workspace', { image: 'node-20' })).body.workspace;
  const r = await w.request('POST', `/workspace/${ws.id}/restore`, {});
  assert.equal(r.status, 404);
  assert.equal(r.body.details.field, 'snapshot');
  assert.equal((await w.request('DELETE', `/workspace/${ws.id}`)).status, 200);
});
