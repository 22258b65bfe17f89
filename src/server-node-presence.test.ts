import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from './store/open.js';
import { NodeRegistry } from './domain/nodes.js';
import { NodePresence } from './server-node-presence.js';
import { nodeRegistration } from '../test/support/nodes.js';

async function until(what: string, fn: () => Promise<boolean>, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('a node registers, heartbeats, and registers again when marked lost or forgotten; stop ends the beats', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'warren-presence-'));
  const store = await openStore({ dataDir: dir });
  t.after(async () => { await store.close(); rmSync(dir, { recursive: true, force: true }); });
  const registry = new NodeRegistry({ store });
  const logs: string[] = [];
  const presence = new NodePresence(registry, nodeRegistration('node-1'), (level, msg) => logs.push(`${level} ${msg}`), 20);
  await presence.start();
  assert.equal((await registry.get('node-1')).state, 'ready');
  const first = (await registry.get('node-1')).heartbeat_at;
  await until('a heartbeat', async () => (await registry.get('node-1')).heartbeat_at !== first);

  // The leader's sweep marks it lost (as if silent): its next heartbeat is refused and it registers again.
  assert.deepEqual(await registry.sweepLost(new Date(Date.now() + 60_000)), ['node-1']);
  await until('registered again', async () => (await registry.get('node-1')).state === 'ready');
  assert.ok(logs.includes('info node registered again; its workspaces are re-adopted'), logs.join('\n'));

  // A drained node stays drained through its heartbeats.
  await registry.drain('node-1');
  await new Promise((r) => setTimeout(r, 80));
  assert.equal((await registry.get('node-1')).state, 'draining');

  await presence.stop();
  const last = (await registry.get('node-1')).heartbeat_at;
  await new Promise((r) => setTimeout(r, 80));
  assert.equal((await registry.get('node-1')).heartbeat_at, last, 'no heartbeat after stop');
});
