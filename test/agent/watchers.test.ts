/** File watchers against the real agent process; events over /ws (runtime.md §7, §9.4). */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAgent, type AgentHandle } from './harness.js';
import { openWs, type WsProbe } from './ws-client.js';

let agent: AgentHandle;
let dir: string;
let client: WsProbe;

before(async () => {
  agent = await startAgent();
  dir = mkdtempSync(join(tmpdir(), 'wtest-watch-'));
  mkdirSync(join(dir, 'src/deep'), { recursive: true });
  mkdirSync(join(dir, 'node_modules/pkg'), { recursive: true });
  client = await openWs(`${agent.url.replace('http', 'ws')}/ws?token=${'a'.repeat(64)}`);
});
after(async () => {
  client?.ws.terminate();
  await agent?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const create = (body: unknown) => agent.call('/watchers', { method: 'POST', body: JSON.stringify(body) });
const changeFor = (path: string) => (m: Record<string, any>) => m.type === 'change' && m.path === path;

test('create returns the dual shape and a ready event arrives on /ws', async () => {
  const r = await create({ path: dir, excludes: ['*.log'] });
  assert.equal(r.status, 200);
  assert.equal(r.body.success, true);
  const w = r.body.watcher;
  assert.equal(w.id, '1');
  assert.equal(w.root, dir);
  assert.equal(w.dirs, 3); // dir, src, src/deep (node_modules excluded)
  assert.equal(w.dir_count, 3);
  assert.equal(w.active, true);
  assert.ok(w.excludes.includes('node_modules') && w.excludes.includes('*.log'));
  for (const k of ['id', 'root', 'dirs', 'dir_count', 'excludes']) assert.deepEqual(r.body[k], w[k], k);
  const ready = await client.waitMessage((m) => m.type === 'ready');
  assert.deepEqual(ready, { channel: 'watcher', type: 'ready', watcher_id: '1', root: dir, dirs: 3 });
  const g = await agent.call('/watchers/1');
  assert.equal(g.body.watcher.id, '1');
  assert.equal(g.body.root, dir);
  const l = await agent.call('/watchers');
  assert.equal(l.body.watchers.length, 1);
});

test('create, write, remove, new subdirectories, excludes', async () => {
  const f = join(dir, 'src/deep/a.txt');
  writeFileSync(f, 'x');
  const ev = await client.waitMessage(changeFor(f));
  assert.equal(ev.channel, 'watcher');
  assert.equal(ev.watcher_id, '1');
  assert.ok(['create', 'write'].includes(ev.op), ev.op);

  const newDir = join(dir, 'src/new');
  mkdirSync(newDir);
  await client.waitMessage(changeFor(newDir));
  await new Promise((r) => setTimeout(r, 100));
  const nested = join(newDir, 'b.txt');
  writeFileSync(nested, 'y');
  await client.waitMessage(changeFor(nested));

  rmSync(f);
  await client.waitMessage((m) => m.type === 'change' && m.path === f && m.op === 'remove');

  writeFileSync(join(dir, 'node_modules/pkg/ignored.js'), 'z');
  writeFileSync(join(dir, 'skip.log'), 'z');
  writeFileSync(join(dir, 'after.txt'), 'z');
  await client.waitMessage(changeFor(join(dir, 'after.txt')));
  assert.equal(client.messages.some((m) => String(m.path).includes('node_modules') || String(m.path).endsWith('.log')), false);

  const moved = join(dir, 'moved.txt');
  renameSync(join(dir, 'after.txt'), moved);
  await client.waitMessage(changeFor(moved));
});

test('validation, limit of 5 (409) and delete', async () => {
  assert.equal((await create({})).status, 400);
  assert.equal((await create({ path: join(dir, 'missing') })).status, 404);
  assert.equal((await create({ root: join(dir, 'src') })).status, 200); // root alias → id 2
  for (let i = 0; i < 3; i++) assert.equal((await create({ path: dir })).status, 200);
  const over = await create({ path: dir });
  assert.equal(over.status, 409);
  assert.equal(over.body.success, false);
  for (const id of ['1', '2', '3', '4', '5']) {
    assert.deepEqual((await agent.call(`/watchers/${id}`, { method: 'DELETE' })).body, { success: true, id });
  }
  assert.equal((await agent.call('/watchers/1')).status, 404);
  assert.equal((await agent.call('/watchers/1', { method: 'DELETE' })).status, 404);
  const n = client.messages.length;
  writeFileSync(join(dir, 'unwatched.txt'), 'z');
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(client.messages.slice(n).some((m) => m.type === 'change'), false);
});
