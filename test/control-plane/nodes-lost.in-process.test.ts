/**
 * The leader's lost-node sweep (issue 16): a node whose last heartbeat is older than
 * WARREN_NODE_LOST_AFTER_MS becomes `lost` without anyone asking (a single host always
 * leads, so its leader tasks run here), and a fresh one stays `ready`. Its own process
 * (test/support/in-process.ts), so no other test's nodes age meanwhile.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startInProcess, type InProcessWarren } from '../support/in-process.js';
import { until } from '../support/workspaces.js';
import { nodeRegistration as registration } from '../support/nodes.js';

let w: InProcessWarren;

before(async () => {
  w = await startInProcess();
});
after(async () => w?.close());


test('the leader marks a silent node lost within a heartbeat period, and leaves a live one ready', async () => {
  const store = w.domain.store;
  await store.registerNode(registration('n-silent'), new Date(Date.now() - 60_000).toISOString());
  await store.registerNode(registration('n-live'), new Date().toISOString());
  const state = async (id: string) => (await w.request('GET', `/nodes/${id}`)).body.node?.state as string | undefined;
  const t0 = Date.now();
  await until('the silent node is lost', async () => (await state('n-silent')) === 'lost', 10_000);
  assert.ok(Date.now() - t0 <= 6_000, `lost after ${Date.now() - t0} ms (sweep every 5 s)`);
  assert.equal(await state('n-live'), 'ready');
});
