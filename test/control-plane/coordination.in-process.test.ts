/**
 * Two in-process Warren domains coordinated through one private PostgreSQL database stand for
 * two replicas (issue 16): a rotate on A cuts the gateway exchanges of the workspace on A before
 * A answers and on B within 1 s (the bus); one of them leads and runs the deadline scheduler,
 * and when the leader stops the other takes over within 2 s and arms its deadlines.
 * (Each has its own SQLite store here: what is shared is the coordination only.)
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPostgres, createMigratedDatabase, type TestPostgres } from '../support/postgres.js';
import { startInProcess, type InProcessWarren } from '../support/in-process.js';
import { PostgresCoordination } from '../../src/coordination/postgres.js';
import { until } from '../../src/coordination/contract-suite.js';

let pgs: TestPostgres;
let coordA: PostgresCoordination;
let coordB: PostgresCoordination;
let a: InProcessWarren;
let b: InProcessWarren;
let aOpen = true;

before(async () => {
  pgs = await startPostgres();
  const url = await createMigratedDatabase(pgs);
  coordA = await PostgresCoordination.open(url, { instanceId: 'a' });
  await coordA.start(); // first: it leads
  a = await startInProcess({ coordination: coordA });
  coordB = await PostgresCoordination.open(url, { instanceId: 'b' });
  await coordB.start();
  b = await startInProcess({ coordination: coordB });
});

after(async () => {
  if (aOpen) await a?.close();
  await b?.close();
  if (aOpen) await coordA?.close();
  await coordB?.close();
  await pgs?.stop();
});

test('a rotate on replica A cuts the workspace\'s gateway exchanges on A before it answers, and on B within 1 s', async (t) => {
  const created = await a.request('POST', '/workspace', { image: 'node-20' });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const id = created.body.workspace.id as string;
  assert.equal((await a.request('POST', `/workspace/${id}/runtime-api-access/enable`)).status, 200);
  const cutsA: string[] = [];
  const cutsB: string[] = [];
  a.domain.links.cutRuntime = (ws) => void cutsA.push(ws);
  b.domain.links.cutRuntime = (ws) => void cutsB.push(ws);
  const rotated = await a.request('POST', `/workspace/${id}/runtime-api-access/token`);
  assert.equal(rotated.status, 200, JSON.stringify(rotated.body));
  assert.deepEqual(cutsA, [id], 'A cut before answering');
  const took = await until('B cut', 1_000, () => cutsB.length > 0);
  t.diagnostic(`rotate_cut_other_replica_ms=${took}`);
  assert.deepEqual(cutsB, [id]);
});

test('one replica leads and arms deadlines; the other takes over within 2 s of its stop and arms its own', async (t) => {
  assert.equal(coordA.leadership.isLeader(), true);
  assert.equal(coordB.leadership.isLeader(), false);
  const created = await b.request('POST', '/workspace', { image: 'node-20', mode: 'temporary', config: { ttl: 3600 } });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const id = created.body.workspace.id as string;
  assert.deepEqual(b.domain.lifecycle.scheduler.armed(), [], 'a standby arms no deadline');
  aOpen = false;
  await a.close();
  await coordA.close();
  const took = await until('B leads', 2_000, () => coordB.leadership.isLeader());
  t.diagnostic(`leader_takeover_on_stop_ms=${took}`);
  await until('B arms its deadlines', 2_000, () => b.domain.lifecycle.scheduler.armed().includes(`${id}:ttl`));
});
