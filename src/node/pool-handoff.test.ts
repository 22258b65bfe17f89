/**
 * PoolHandoff: a pool take no replica assigned in time is settled by the node, under its
 * create lock: to the stored record holding it, else back to the pool. Part one over a
 * recording backend (the order of calls and the lock), part two over a real local backend
 * with a warm pool (the sandbox is handed out again, or adopted by the holder's bringUp, and
 * the pool refills after).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { PoolOffer, PoolWant, ReadySandbox, WorkspaceBackend } from '../domain/backend.js';
import { BACKEND_IMAGE, BACKEND_IMAGE_ID, poolReady } from '../domain/backend-contract-suite.js';
import { sampleWorkspace } from '../store/contract-fixtures.js';
import { localBackend } from '../../test/support/local-backend.js';
import { PoolHandoff } from './pool-handoff.js';

const READY: ReadySandbox = { ip: '10.1.0.9', shortId: 'abcdef01' };
const WANT: PoolWant = { image: BACKEND_IMAGE, imageId: BACKEND_IMAGE_ID };

/** A backend whose pool always offers READY and records the pool calls. */
function recordingBackend() {
  const calls: string[] = [];
  const backend = {
    async takeReady(_n: string | null, want: PoolWant | null): Promise<PoolOffer> {
      calls.push('take');
      return { ready: want ? READY : null, held: [READY.ip] };
    },
    async assignReady(_n: string | null, id: string, r: ReadySandbox) { calls.push(`assign ${id} ${r.shortId}`); },
    async putBackReady(_n: string | null, r: ReadySandbox) { calls.push(`put-back ${r.shortId}`); },
  } as unknown as WorkspaceBackend;
  return { backend, calls };
}

test('a take assigned in time is not settled again; one put back in time neither', async (t) => {
  const { backend, calls } = recordingBackend();
  const h = new PoolHandoff({ nodeId: 'n1', backend, holdMs: 30 });
  t.after(() => h.close());
  await h.take(WANT);
  await h.assign('ws_1', READY);
  await h.take(WANT);
  await h.putBack(READY);
  assert.equal(h.waiting, 0);
  await sleep(80);
  assert.deepEqual(calls, ['take', 'assign ws_1 abcdef01', 'take', 'put-back abcdef01']);
});

test('a take with no want starts no timer', async (t) => {
  const { backend, calls } = recordingBackend();
  const h = new PoolHandoff({ nodeId: 'n1', backend, holdMs: 10 });
  t.after(() => h.close());
  await h.take(null);
  assert.equal(h.waiting, 0);
  await sleep(40);
  assert.deepEqual(calls, ['take']);
});

test('a take not assigned in time: back to the pool when no record holds it, to the holder when one does; under the create lock', async (t) => {
  for (const holder of [null, 'ws_7']) {
    const { backend, calls } = recordingBackend();
    const h = new PoolHandoff({
      nodeId: 'n1', backend, holdMs: 20,
      underCreateLock: async (fn) => {
        calls.push('lock');
        try { return await fn(); } finally { calls.push('unlock'); }
      },
      holderOf: async (r) => {
        calls.push(`holder? ${r.shortId}`);
        return holder;
      },
    });
    t.after(() => h.close());
    await h.take(WANT);
    assert.equal(h.waiting, 1);
    await sleep(80);
    assert.equal(h.waiting, 0);
    const outcome = holder ? `assign ${holder} abcdef01` : 'put-back abcdef01';
    assert.deepEqual(calls, ['take', 'lock', 'holder? abcdef01', outcome, 'unlock'], `holder ${holder}`);
  }
});

test('in process: an unassigned take goes back to the real pool and serves the next take; a stored holder adopts it instead', async (t) => {
  const local = await localBackend({ nodeId: 'n1', warmPool: 1 });
  t.after(() => local.close());
  const b = local.backend;
  const h = new PoolHandoff({
    nodeId: 'n1', backend: b, holdMs: 50,
    holderOf: async (r) => (await local.store.allReservations()).find((row) => row.ip === r.ip)?.id ?? null,
  });
  t.after(() => h.close());
  await h.take(WANT);
  await poolReady(b);
  const first = (await h.take(WANT)).ready;
  assert.ok(first);
  assert.equal((await b.takeReady('n1', WANT)).ready, null, 'taken: not offered to another reservation');
  await sleep(150); // the replica that took it died before storing a record
  assert.deepEqual((await h.take(WANT)).ready, first, 'put back, it served the next take');

  // This time the replica stored the record, then died before assigning.
  const rec = sampleWorkspace({
    nodeId: 'n1', ip: first.ip, shortId: first.shortId, image: BACKEND_IMAGE, imageId: BACKEND_IMAGE_ID, state: 'creating', pending: null,
  });
  rec.config = { ...rec.config, workloads: [] };
  await local.store.insertWorkspaces([rec]);
  await sleep(150);
  assert.equal(b.pool!.takenEntry(first.shortId), undefined, 'settled');
  const made = local.creates();
  await b.bringUp(rec);
  assert.equal(local.creates(), made, 'the holder adopted it');
  assert.equal((await b.inspect(rec)).state, 'running');
  // takeReady asks (`want`) and takes in one tick: the pool refills all the same.
  await poolReady(b);
  assert.notEqual((await h.take(WANT)).ready?.ip, rec.ip, 'the refilled sandbox has an address of its own');
});
