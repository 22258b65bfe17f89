/**
 * kill -9 at named crash points (src/util/fault-points.ts), at least WARREN_CRASH_KILLS
 * times (default 100; the full size, e.g. 1000, by that variable), across create (cold and
 * from the warm pool), delete, start/stop/restart, snapshot, restore, fork, archive export
 * and import, resources and network changes. Each round starts the server armed at the
 * next point (WARREN_TEST_CRASH_AT), checks what the last crash left, then drives the
 * operation that reaches the point. After every restart:
 * - every acknowledged workspace (a 2xx received) exists, is not failed, is in the state
 *   its acknowledged operations left it in (either side of an unacknowledged one), and
 *   when running answers `exec` through the gateway with its file from before the crash;
 * - an unacknowledged create or fork either left nothing or a complete, working workspace;
 *   no record is left in a transitional state; an acknowledged delete stays deleted;
 * - the host has no orphan (test/support/host-orphans.ts).
 * The schedule is seeded (WARREN_CRASH_SEED; the seed is printed) and reaches every point
 * at least once before drawing at random.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { FAULT_POINTS, type FaultPointName } from '../../src/util/fault-points.js';
import { api, startServer, type TestServer } from '../support/warren.js';
import { ensureTestImages } from '../support/images.js';
import { hostOrphans, ownedObjects, selfCheckOrphans } from '../support/host-orphans.js';
import { adminClient, openRuntime, type Rt } from '../support/workspaces.js';

type Scenario = 'create' | 'create-pooled' | 'stop' | 'start' | 'restart' | 'delete' | 'snapshot' | 'restore' | 'fork'
  | 'archive' | 'archive-start' | 'resources' | 'network';

/** The operation that reaches each point (a point reached on the way by another is a crash all the same). */
const SCENARIO: Record<FaultPointName, Scenario> = {
  'create.reserved': 'create',
  'boot.image-ready': 'create', 'boot.control-files-written': 'create', 'boot.archive-imported': 'archive-start',
  'boot.sandbox-created': 'create', 'boot.firewall-registered': 'start', 'boot.network-synced': 'create',
  'boot.sandbox-started': 'restart', 'boot.agent-answered': 'create',
  'adopt.moved': 'create-pooled', 'adopt.configured': 'create-pooled', 'adopt.claimed': 'create-pooled',
  'driver.create.disk-ready': 'create', 'driver.create.cgroups-ready': 'fork', 'driver.create.netns-ready': 'create',
  'driver.start.layers-mounted': 'start', 'driver.start.launched': 'create',
  'driver.stop.killed': 'stop', 'driver.stop.unmounted': 'restart',
  'driver.destroy.stopped': 'delete', 'driver.destroy.netns-deleted': 'delete', 'driver.destroy.cgroups-removed': 'archive-start',
  'firewall.registered': 'create', 'firewall.unregistered': 'stop',
  'bringdown.stopped': 'stop', 'destroy.sandbox-destroyed': 'delete', 'destroy.archives-removed': 'delete',
  'destroy.files-removed': 'delete',
  'op.side-effects-done': 'start', 'op.outcome-stored': 'stop', 'op.record-deleted': 'delete',
  'restore.brought-down': 'restore', 'restore.layer-replaced': 'restore',
  'snapshot.row-pending': 'snapshot', 'snapshot.copied': 'snapshot', 'snapshot.row-ready': 'snapshot',
  'snapshot.old-dropped': 'snapshot',
  'archive.row-writing': 'archive', 'archive.file-written': 'archive', 'archive.row-ready': 'archive',
  'import.verified': 'archive-start', 'import.layer-written': 'archive-start',
  'fork.seed-taken': 'fork', 'fork.reserved': 'fork',
  'resources.applied-live': 'resources', 'resources.stored': 'resources',
  'network.policy-stored': 'network', 'network.rules-applied': 'network', 'network.synced': 'network',
};

const KILLS = Number(process.env.WARREN_CRASH_KILLS ?? 100);
const SEED = Number(process.env.WARREN_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));
const MAX_LIVE = 3;
const STABLE = new Set(['running', 'stopped', 'paused', 'archived', 'failed']);

/** mulberry32: a small seeded generator, so a failing schedule can be replayed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = rng(SEED);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;

/** A workspace this test was told about (2xx). `allowed`: states an unacknowledged operation may have left it in. */
interface Known {
  id: string;
  name: string;
  state: string;
  allowed?: Set<string>;
  mayBeGone?: boolean;
  /** /root/base was written (acknowledged): every later layer version holds it. */
  base: boolean;
  rt?: Rt;
}

const known = new Map<string, Known>();
/** Names of workspaces a create or fork without an answer may have made. */
const maybeNames = new Set<string>();
const gone = new Set<string>();
const kills: Array<{ point: string; during: 'start' | 'round' }> = [];
const hit = new Set<string>();
let server: TestServer;
let armed = '';
/** Lines the server wrote since its last start (its log keeps only the last 2000: count them as they come). */
let logFrom = 0;
let logTotal = 0;
function countLogLines(s: TestServer): void {
  const push = s.logs.push.bind(s.logs);
  s.logs.push = (...lines: string[]) => {
    logTotal += lines.length;
    return push(...lines);
  };
}
function linesSinceStart(): string[] {
  return server.logs.slice(Math.max(0, server.logs.length - (logTotal - logFrom)));
}
let counter = 0;

class Crashed extends Error {}

before(async () => {
  await ensureTestImages(['debian-12']);
});
after(async () => {
  await server?.stop();
});

/** True (and recorded) when the server died by SIGKILL at the armed point since the last start. */
async function crashedAtPoint(during: 'start' | 'round'): Promise<boolean> {
  const p = server.proc;
  if (p.exitCode === null && p.signalCode === null) await Promise.race([once(p, 'exit'), sleep(3000)]);
  if (p.signalCode !== 'SIGKILL' || !armed) return false;
  // 'exit' can come before the last of stderr is read: give the line a moment.
  const reached = () => linesSinceStart().some((l) => l.includes(`fault point reached: ${armed}#`));
  for (const deadline = Date.now() + 2000; !reached() && Date.now() < deadline;) await sleep(20);
  if (!reached()) return false;
  kills.push({ point: armed, during });
  hit.add(armed);
  return true;
}

/** Runs `fn`; a failure that is the armed crash becomes Crashed, anything else stays a failure. */
async function step<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (await crashedAtPoint('round')) throw new Crashed();
    throw err;
  }
}

/** A control-plane call; a non-2xx answer fails the test (the server died: Crashed). */
async function call(method: string, path: string, body?: unknown): Promise<any> {
  const res = await step(() => api(server, method, path, body));
  if (res.status >= 400) {
    if (await crashedAtPoint('round')) throw new Crashed();
    throw new Error(`${method} ${path}: ${res.status} ${res.text.slice(0, 300)}`);
  }
  return res.body;
}

function envFor(point: string): Record<string, string> {
  return {
    ...(point ? { WARREN_TEST_CRASH_AT: point } : {}),
    WARREN_WARM_POOL: point && SCENARIO[point as FaultPointName] === 'create-pooled' ? '1' : '0',
  };
}

/** Starts the server armed at `point`; false when it died there during start (reconciliation). */
async function launch(point: string): Promise<boolean> {
  armed = point;
  logFrom = logTotal;
  try {
    await server.restart(envFor(point));
    return true;
  } catch (err) {
    if (await crashedAtPoint('start')) return false;
    throw err;
  }
}

async function settled(id: string): Promise<any> {
  const deadline = Date.now() + 90_000;
  for (;;) {
    const res = await step(() => api(server, 'GET', `/workspace/${id}`));
    if (res.status === 404) return null;
    const ws = res.body?.workspace;
    if (ws && STABLE.has(ws.status)) return ws;
    if (Date.now() > deadline) throw new Error(`workspace ${id} stuck in ${ws?.status}`);
    await sleep(100);
  }
}

async function runtimeOf(k: Known): Promise<Rt> {
  k.rt ??= await step(() => openRuntime(adminClient(server), server, k.id));
  return k.rt;
}

/** What the last crash left: see the file's header. */
async function verify(): Promise<void> {
  // Reconciliation finishes before the server listens: nothing may be left half-way.
  const records = ownedObjects(server.dataDir).workspaces;
  const stuck = [...records].filter(([, r]) => r.pending || !STABLE.has(r.state)).map(([id, r]) => `${id} ${r.state}`);
  assert.deepEqual(stuck, [], 'records left transitional after reconciliation');
  for (const [id, rec] of records) {
    if (known.has(id)) continue;
    const ws = await settled(id);
    if (!ws) continue;
    assert.ok(maybeNames.has(ws.name), `workspace ${id} (${ws.name}, ${ws.status}) exists though no create or fork made it`);
    assert.ok(ws.status === 'running', `an unacknowledged create left ${id} ${ws.status} (${rec.state})`);
    known.set(id, { id, name: ws.name, state: ws.status, base: false });
  }
  maybeNames.clear();
  for (const k of [...known.values()]) {
    const ws = await settled(k.id);
    if (!ws) {
      assert.ok(k.mayBeGone, `acknowledged workspace ${k.id} is gone`);
      known.delete(k.id);
      continue;
    }
    const allowed = k.allowed ?? new Set([k.state]);
    assert.ok(allowed.has(ws.status), `workspace ${k.id} is ${ws.status}, expected ${[...allowed].join(' or ')}`);
    k.state = ws.status;
    k.allowed = undefined;
    k.mayBeGone = false;
    if (ws.status !== 'running') continue;
    const rt = await runtimeOf(k);
    const r = await step(() => rt.exec.run(['sh', '-c', k.base ? 'cat /root/base' : 'true']));
    assert.equal(r.exit_code, 0, `exec in ${k.id}: ${JSON.stringify(r)}`);
    if (k.base) assert.equal(r.stdout, 'base\n', `the file of ${k.id} from before the crash`);
  }
  for (const id of gone) assert.equal((await step(() => api(server, 'GET', `/workspace/${id}`))).status, 404, `deleted ${id} is back`);
  let orphans: string[] = [];
  for (const deadline = Date.now() + 15_000; ;) {
    orphans = hostOrphans(server);
    if (!orphans.length || Date.now() > deadline) break;
    await sleep(250);
  }
  assert.deepEqual(orphans, [], `host orphans after a crash at ${kills.at(-1)?.point}`);
}

/** POST /workspace; the workspace becomes known once answered and running, with /root/base written. */
async function create(): Promise<Known> {
  if (known.size >= MAX_LIVE) await remove(pick([...known.values()]));
  const name = `crash-${++counter}`;
  maybeNames.add(name);
  const body = await call('POST', '/workspace', { image: 'debian-12', name, memory_mb: 128 });
  maybeNames.delete(name);
  const k: Known = { id: body.workspace.id, name, state: 'running', base: false };
  known.set(k.id, k);
  await untilRunning(k);
  await writeBase(k);
  return k;
}

async function untilRunning(k: Known): Promise<void> {
  const ws = await settled(k.id);
  assert.equal(ws?.status, 'running', `workspace ${k.id} did not come up: ${JSON.stringify(ws)}`);
}

async function writeBase(k: Known): Promise<void> {
  const rt = await runtimeOf(k);
  const r = await step(() => rt.exec.run(['sh', '-c', 'echo base > /root/base && sync']));
  assert.equal(r.exit_code, 0);
  k.base = true;
}

async function remove(k: Known): Promise<void> {
  k.mayBeGone = true;
  await call('DELETE', `/workspace/${k.id}`);
  known.delete(k.id);
  gone.add(k.id);
}

/** A known workspace in `state` (one is made when there is none). */
async function target(state: 'running' | 'stopped'): Promise<Known> {
  const found = [...known.values()].filter((k) => k.state === state);
  if (found.length) return pick(found);
  const running = [...known.values()].filter((k) => k.state === 'running');
  const k = running.length ? pick(running) : await create();
  if (state === 'stopped') await power(k, 'stop');
  return k;
}

async function power(k: Known, action: 'start' | 'stop' | 'restart'): Promise<void> {
  const to = action === 'stop' ? 'stopped' : 'running';
  k.allowed = new Set([k.state, to]);
  await call('POST', `/workspace/${k.id}/${action}`);
  k.state = to;
  k.allowed = undefined;
}

async function runScenario(s: Scenario): Promise<void> {
  switch (s) {
    case 'create': case 'create-pooled': {
      // The pool learns an image from a create, then fills while the server is quiet.
      if (s === 'create-pooled') await create().then(() => waitForLog('warm pool sandbox ready', 60_000));
      await create();
      return;
    }
    case 'stop': return power(await target('running'), 'stop');
    case 'start': return power(await target('stopped'), 'start');
    case 'restart': return power(await target('running'), 'restart');
    case 'delete': return remove(await target(pick(['running', 'stopped'] as const)));
    case 'snapshot': {
      const k = await target('running');
      await call('POST', `/workspace/${k.id}/snapshot`, {});
      await call('POST', `/workspace/${k.id}/snapshot`, {});
      return;
    }
    case 'restore': {
      const k = await target('running');
      await call('POST', `/workspace/${k.id}/snapshot`, {});
      await call('POST', `/workspace/${k.id}/restore`, {});
      return;
    }
    case 'fork': {
      const src = await target('running');
      if (known.size >= MAX_LIVE) await remove(pick([...known.values()].filter((k) => k !== src)));
      maybeNames.add(`${src.name}-fork-1`);
      const body = await call('POST', `/workspace/${src.id}/fork`, { count: 1 });
      maybeNames.delete(`${src.name}-fork-1`);
      const f: Known = { id: body.workspaces[0].id, name: `${src.name}-fork-1`, state: 'running', base: src.base };
      known.set(f.id, f);
      await untilRunning(f);
      return;
    }
    case 'archive': {
      const k = await target('running');
      await call('POST', `/workspace/${k.id}/archives`, { version: `v${++counter}` });
      return;
    }
    case 'archive-start': {
      const k = await target('running');
      k.allowed = new Set(['running', 'archived']);
      await call('DELETE', `/workspace/${k.id}/lifecycle?archive=true`);
      k.state = 'archived';
      k.rt = undefined;
      k.allowed = new Set(['archived', 'running']);
      await call('POST', `/workspace/${k.id}/start`);
      k.state = 'running';
      k.allowed = undefined;
      return;
    }
    case 'resources': {
      const k = await target('running');
      await call('PUT', `/workspace/${k.id}/resources`, { memory_mb: pick([128, 160, 192]) });
      return;
    }
    case 'network': {
      const k = await target('running');
      const peers = [...known.keys()].filter((id) => id !== k.id);
      await call('PATCH', `/workspace/${k.id}/network`, { egress_ports: [pick([80, 443, 8080])], private_link_ids: peers.slice(0, 1) });
      return;
    }
  }
}

async function waitForLog(text: string, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!linesSinceStart().some((l) => l.includes(text))) {
    if (server.proc.exitCode !== null || server.proc.signalCode !== null) throw (await crashedAtPoint('round')) ? new Crashed() : new Error('server died');
    if (Date.now() > deadline) throw new Error(`no log line "${text}"`);
    await sleep(50);
  }
}

/** Every point until it is hit (shuffled; a miss goes to the back of the queue), then uniform draws. */
function* schedule(): Generator<FaultPointName> {
  const queue = [...FAULT_POINTS].map((p) => ({ p, r: random() })).sort((a, b) => a.r - b.r).map((x) => x.p);
  for (;;) {
    while (queue.length && hit.has(queue[0]!)) queue.shift();
    const next = queue.shift();
    if (next) queue.push(next);
    yield next ?? pick(FAULT_POINTS);
  }
}

test(`kill -9 at ${KILLS} crash points: nothing acknowledged lost, nothing half made, no host orphan (seed ${SEED})`, { timeout: 3_600_000 }, async () => {
  console.log(`crash points: seed ${SEED} (replay with WARREN_CRASH_SEED=${SEED}), ${KILLS} kills`);
  server = await startServer({ env: envFor('') });
  countLogLines(server);
  selfCheckOrphans(server);
  const t0 = Date.now();
  const misses: string[] = [];
  const points = schedule();
  let rounds = 0;
  while (kills.length < KILLS) {
    assert.ok(++rounds <= KILLS * 3, `only ${kills.length} kills in ${rounds} rounds; missed: ${misses.join(', ')}`);
    const point = points.next().value as FaultPointName;
    const t = [Date.now()];
    const progress = (what: string) => console.log(`round ${rounds} ${point}: ${what} (start ${t[1]! - t[0]!} ms`
      + `${t[2] ? `, check ${t[2] - t[1]!} ms` : ''}, then ${Date.now() - (t[2] ?? t[1]!)} ms); ${kills.length} kills`);
    await server.kill();
    const up = await launch(point);
    t.push(Date.now());
    if (!up) {
      progress('killed while reconciling'); // what the last crash left reached the point: a round too
      continue;
    }
    try {
      await verify();
      t.push(Date.now());
      await runScenario(SCENARIO[point]);
      misses.push(point);
      progress('not reached');
    } catch (err) {
      if (err instanceof Crashed) progress('killed');
      if (!(err instanceof Crashed)) {
        console.log(`failed at round ${rounds} armed at ${point}; kills so far: ${kills.map((k) => k.point).join(', ')}`);
        console.log(`server ${server.proc.signalCode ?? server.proc.exitCode ?? 'alive'}; its last lines:\n${server.logs.slice(-12).join('\n')}`);
        throw err;
      }
    }
  }
  await server.kill();
  await launch('');
  await verify();
  const unhit = FAULT_POINTS.filter((p) => !hit.has(p));
  console.log(`crash points: ${kills.length} kills (${kills.filter((k) => k.during === 'start').length} while reconciling) `
    + `in ${rounds} rounds, ${Math.round((Date.now() - t0) / 1000)} s; points never reached: ${unhit.join(', ') || 'none'}`);
  if (KILLS >= FAULT_POINTS.length) assert.deepEqual(unhit, [], 'every named point is reached at least once');
});

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
