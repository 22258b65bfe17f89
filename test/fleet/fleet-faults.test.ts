/**
 * Coordination and faults across replicas (issue 16, Tests): one fleet of two node daemons
 * (each in its own network namespace), two `warren control` replicas, one PostgreSQL
 * (test/support/fleet.ts).
 *
 * 1. 50 concurrent creates with the official client, 25 through each replica, against a
 *    pool of 10 (two nodes of 5 workspaces each): exactly 10 are created and run, 40 are
 *    refused with 409 HOST_CAPACITY_REACHED, and nothing half-made is left in the database.
 * 2. A rotate on replica A ends an exec stream relayed by replica B within 1 s.
 * 3. The same race against a namespace's limit: 20 concurrent creates into a namespace of 4
 *    workspaces give exactly 4, the rest 409 NAMESPACE_LIMIT_REACHED (`max_workspaces`).
 * 4. A replica killed inside a create (WARREN_TEST_CRASH_AT=create.reserved: the record is
 *    reserved, nothing has been asked of a node yet; or op.side-effects-done: the node booted
 *    it, the outcome is not stored) leaves a pending record; a surviving replica's orphan
 *    sweep finishes it: the workspace becomes `running`, booted once, and answers exec.
 * 5. SIGKILL of the leader: the other replica leads within 2 s, and the TTL expiry of a
 *    temporary workspace armed before the kill fires once (one `deleted` activity entry of
 *    origin `ttl`), not twice, also after the killed replica is back.
 *
 * The leader test runs last: it kills one of the two replicas the earlier tests use.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Oblien, { Runtime } from 'oblien';
import { ADMIN, api, type TestServer } from '../support/warren.js';
import { ensureTestImages } from '../support/images.js';
import { postgresAvailable } from '../support/postgres.js';
import { fleetRolesAvailable, startFleet, startReplica, type Fleet, type Replica } from '../support/fleet.js';
import { until, waitForStatus, type Client, type Rt } from '../support/workspaces.js';

/** Each node takes 5 workspaces: a pool of 10 across the fleet. */
const PER_NODE = 5;
const POOL = 2 * PER_NODE;
const CREATES = 50;
/** A namespace that allows 4 workspaces, and 20 creates into it. */
const NS_LIMIT = 4;
const NS_CREATES = 20;

const skip = !postgresAvailable() ? 'PostgreSQL 15 is not installed (scripts/setup.sh --tests)'
  : !fleetRolesAvailable() ? 'this build has no `warren node` / `warren control` (npm run build)' : false;

const asServer = (r: Replica) => ({ url: r.url, port: r.port }) as TestServer;
const clientOf = (r: Replica): Client => new Oblien({ clientId: ADMIN.clientId, clientSecret: ADMIN.clientSecret, baseUrl: r.url });
const runtimeOn = (r: Replica, token: string | undefined): Rt => {
  assert.ok(token, 'a runtime token');
  return new Runtime({ token, baseUrl: r.url });
};

/** A replica's id: `n` + the hex of `<data-dir>/node-id` (src/server-coordination.ts replicaIdFor). */
const replicaId = (r: Replica) => `n${readFileSync(join(r.dataDir, 'node-id')).toString('hex')}`;
/** Whether a leader `holder` (the coordination's instance id: the replica's id, `-`, a per-process part) is `r`. */
const holds = (holder: string, r: Replica) => holder.startsWith(`${replicaId(r)}-`);

describe('fleet faults: reservations, cuts and crashes across two control replicas', { skip }, () => {
  let fleet: Fleet;
  let clients: Client[];
  /** Every workspace id a test made (deleted in `after` should a test fail first). */
  const made = new Set<string>();

  const rows = (sql: string, params: unknown[] = []) => fleet.pg.query<any>(fleet.databaseUrl, sql, params);
  const gone = (r: Replica, id: string, ms = 120_000) =>
    until(`workspace ${id} deleted`, async () => (await api(asServer(r), 'GET', `/workspace/${id}`)).status === 404, ms);

  before(async () => {
    await ensureTestImages(['node-20']);
    fleet = await startFleet({
      nodes: 2, replicas: 2,
      node: (i) => ({ nodeId: `faults-${i}`, capacity: { cpus: 64, memoryMb: 65_536, diskMb: 1_000_000, maxWorkspaces: PER_NODE } }),
    });
    clients = fleet.replicas.map(clientOf);
  });
  after(async () => {
    const alive = fleet?.replicas.find((r) => r.proc.exitCode === null && r.proc.signalCode === null);
    if (alive) for (const id of made) await clientOf(alive).workspaces.delete(id).catch(() => {});
    await fleet?.stop();
  });

  test(`${CREATES} concurrent creates over both replicas against a pool of ${POOL}: exactly ${POOL}, the rest 409`, async (t) => {
    const t0 = Date.now();
    const outcomes = await Promise.allSettled(Array.from({ length: CREATES }, (_, i) =>
      clients[i % 2]!.workspaces.create({ image: 'node-20', name: `burst-${i}`, memory_mb: 256 })));
    t.diagnostic(`${CREATES} creates answered in ${Date.now() - t0} ms`);
    const created = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value.id as string] : []));
    for (const id of created) made.add(id);
    const refusals = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason as any] : []));
    const codes = new Map<string, number>();
    for (const e of refusals) codes.set(`${e?.status} ${e?.code}`, (codes.get(`${e?.status} ${e?.code}`) ?? 0) + 1);
    assert.equal(created.length, POOL, `created ${created.length}; refusals ${JSON.stringify([...codes])}`);
    assert.deepEqual([...codes], [[`409 HOST_CAPACITY_REACHED`, CREATES - POOL]], 'every other create refused with the registered 409');
    const fromA = outcomes.filter((o, i) => o.status === 'fulfilled' && i % 2 === 0).length;
    t.diagnostic(`created through A ${fromA}, through B ${POOL - fromA}`);

    for (const [i, id] of created.entries()) await waitForStatus(asServer(fleet.replicas[i % 2]!), id, 'running', 180_000);
    t.diagnostic(`all ${POOL} running ${Date.now() - t0} ms after the burst`);
    // Nothing half-made: exactly the created records, all running, none pending, within each node's capacity.
    const stored = await rows('SELECT id, state, node_id, pending FROM workspaces');
    assert.deepEqual(stored.map((r) => r.id).sort(), [...created].sort(), 'exactly the created records are stored');
    assert.deepEqual(stored.filter((r) => r.state !== 'running' || r.pending), [], 'all running, nothing pending');
    const perNode = new Map<string, number>();
    for (const r of stored) perNode.set(r.node_id, (perNode.get(r.node_id) ?? 0) + 1);
    assert.deepEqual([...perNode].sort(), [['faults-0', PER_NODE], ['faults-1', PER_NODE]]);
    const leases = await rows('SELECT workspace_id FROM warren_coord_leases WHERE expires_at > now()');
    assert.deepEqual(leases, [], 'no operation lease is still held');

    // Make room for the later tests: keep one (the rotate test's), delete the rest through both replicas.
    const rest = created.slice(1);
    await Promise.all(rest.map((id, i) => clients[i % 2]!.workspaces.delete(id)));
    for (const id of rest) {
      await gone(fleet.replicas[0]!, id);
      made.delete(id);
    }
  });

  test('a rotate on replica A ends an exec stream relayed by replica B within 1 s', async (t) => {
    const id = [...made][0]!;
    const [a, b] = fleet.replicas as [Replica, Replica];
    await clients[0]!.workspaces.network.update(id, { public_access: true });
    const { token } = await clients[0]!.workspaces.apiAccess.enable(id);
    const viaB = runtimeOn(b, token);
    let beats = 0;
    let endedAt = 0;
    let ending = '';
    let firstBeat!: () => void;
    const started = new Promise<void>((r) => (firstBeat = r));
    const reading = (async () => {
      try {
        for await (const ev of viaB.exec.stream(['sh', '-c', 'while :; do echo beat; sleep 0.2; done'])) {
          // stdout is base64 (the official client's ExecStreamEvent).
          if (ev.event === 'stdout' && Buffer.from(ev.data, 'base64').toString().includes('beat')) {
            beats++;
            if (beats >= 3) firstBeat(); // flowing, not a single burst
          }
        }
        ending = 'ended';
      } catch (err) {
        ending = `threw ${(err as any)?.code ?? (err as Error).message}`;
      } finally {
        endedAt = Date.now();
        firstBeat();
      }
    })();
    await Promise.race([started, new Promise((_, reject) => setTimeout(() => reject(new Error('no output on B\'s stream in 30 s')), 30_000))]);
    assert.equal(endedAt, 0, `the stream is live before the rotate (it ${ending})`);
    const rotated = await clients[0]!.workspaces.apiAccess.rotateToken(id);
    const rotatedAt = Date.now();
    const beatsAtRotate = beats;
    await Promise.race([reading, new Promise((r) => setTimeout(r, 5_000))]);
    assert.ok(endedAt > 0, `B's stream still open 5 s after the rotate on A (${beats} beats)`);
    const cutMs = endedAt - rotatedAt;
    t.diagnostic(`B's stream ${ending} ${cutMs} ms after A answered the rotate (${beatsAtRotate} beats before, ${beats} in all)`);
    assert.ok(cutMs <= 1_000, `B's stream ended ${cutMs} ms after the rotate`);
    const old: any = await viaB.exec.run(['true']).then(() => null, (e: unknown) => e);
    assert.equal(old?.status, 401, 'the old token is refused on B');
    assert.equal((await runtimeOn(b, rotated.token).exec.run(['true'])).exit_code, 0, 'the new token works on B');
    assert.equal((await runtimeOn(a, rotated.token).exec.run(['true'])).exit_code, 0, 'and on A');
  });

  test(`${NS_CREATES} concurrent creates over both replicas in a namespace of ${NS_LIMIT}: exactly ${NS_LIMIT}, the rest 409`, async (t) => {
    const ns: any = (await clients[0]!.namespaces.create({ name: 'Fleet Limited', resource_limits: { max_workspaces: NS_LIMIT } } as any)).data;
    const outcomes = await Promise.allSettled(Array.from({ length: NS_CREATES }, (_, i) =>
      clients[i % 2]!.workspaces.create({ image: 'node-20', name: `ns-${i}`, memory_mb: 128, namespace: ns.slug } as any)));
    const created = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value.id as string] : []));
    for (const id of created) made.add(id);
    const refusals = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason as any] : []));
    const seen = [...new Set(refusals.map((e) => `${e?.status} ${e?.code} ${e?.details?.field}`))];
    assert.equal(created.length, NS_LIMIT, `created ${created.length}; refusals ${seen.join(', ')}`);
    assert.deepEqual(seen, ['409 NAMESPACE_LIMIT_REACHED max_workspaces'], 'every other create refused with the registered 409');
    assert.equal(refusals.length, NS_CREATES - NS_LIMIT);
    for (const [i, id] of created.entries()) await waitForStatus(asServer(fleet.replicas[i % 2]!), id, 'running', 180_000);
    const stored = await rows('SELECT id, state, pending FROM workspaces WHERE namespace = $1', [ns.slug]);
    assert.deepEqual(stored.map((r) => r.id).sort(), [...created].sort(), 'exactly the created records are stored');
    assert.deepEqual(stored.filter((r) => r.state !== 'running' || r.pending), [], 'all running, nothing pending');
    t.diagnostic(`${NS_LIMIT} running in namespace ${ns.slug}`);
    await Promise.all(created.map((id, i) => clients[i % 2]!.workspaces.delete(id)));
    for (const id of created) {
      await gone(fleet.replicas[1]!, id);
      made.delete(id);
    }
  });

  const crashPoints = [
    ['create.reserved', 'record reserved, no node asked yet'],
    ['op.side-effects-done', 'the node booted it, the outcome not stored'],
  ] as const;
  for (const [point, where] of crashPoints) test(`a replica killed inside a create at ${point} (${where}): another replica finishes it`, async (t) => {
    const crashing = await startReplica({ databaseUrl: fleet.databaseUrl, env: { WARREN_TEST_CRASH_AT: point } });
    const name = `orphan-${point.replace(/\W/g, '-')}`;
    try {
      const exited = new Promise<void>((r) => crashing.proc.once('exit', () => r()));
      const answer = await clientOf(crashing).workspaces.create({ image: 'node-20', name, memory_mb: 128 })
        .then((ws) => `created ${ws.id}`, (e: any) => `failed ${e?.status ?? ''} ${e?.message ?? e}`);
      await exited;
      // create.reserved is before the answer; op.side-effects-done runs after it, in the background.
      if (point === 'create.reserved') assert.match(answer, /^failed/, 'the crashing replica never answered the create');
      assert.ok(crashing.logs.some((l) => l.includes(`fault point reached: ${point}`)), 'it died at the fault point');
      const killedAt = Date.now();
      const [orphan] = await rows('SELECT id, state, node_id, pending FROM workspaces WHERE name = $1', [name]);
      assert.ok(orphan, 'the reserved record is stored');
      made.add(orphan.id);
      assert.equal(orphan.state, 'creating');
      assert.equal(JSON.parse(orphan.pending ?? 'null')?.op, 'create', 'left pending');

      const b = fleet.replicas[1]!;
      await waitForStatus(asServer(b), orphan.id, 'running', 120_000);
      t.diagnostic(`running ${Date.now() - killedAt} ms after the replica died (orphans are stale after 10 s, swept every 5 s)`);
      const finisher = fleet.replicas.find((r) => r.logs.some((l) => l.includes('finishing an operation its replica left') && l.includes(orphan.id)));
      assert.ok(finisher, 'a surviving replica logged that it finished the left create');
      const [after] = await rows('SELECT state, pending FROM workspaces WHERE id = $1', [orphan.id]);
      assert.deepEqual([after.state, after.pending], ['running', null]);
      await clients[1]!.workspaces.network.update(orphan.id, { public_access: true });
      const { token } = await clients[1]!.workspaces.apiAccess.enable(orphan.id);
      const r = await runtimeOn(b, token).exec.run(['sh', '-c', 'echo finished']);
      assert.equal(r.exit_code, 0, JSON.stringify(r));
      assert.equal(r.stdout, 'finished\n');
      // When its node had booted it before the crash, the finishing replica's create found the
      // sandbox running and kept it (src/domain/orchestrator.ts bringUpSteps): its PID 1 started
      // before the kill. Start times are in clock ticks since the (shared) kernel's boot.
      const ticks = Number((await runtimeOn(b, token).exec.run(['sh', '-c', 'cut -d" " -f22 /proc/1/stat'])).stdout!.trim());
      const bootMs = Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))![1]) * 1000;
      const sandboxStartedMs = bootMs + ticks * 10;
      t.diagnostic(`the sandbox's PID 1 started ${sandboxStartedMs - killedAt} ms after the kill`);
      if (point === 'op.side-effects-done') assert.ok(sandboxStartedMs <= killedAt + 1_000, 'booted once, before the kill, and kept');
      else assert.ok(sandboxStartedMs > killedAt - 1_000, 'booted by the replica that finished it');
      const created = await rows("SELECT id FROM activity WHERE workspace_id = $1 AND type = 'created'", [orphan.id]);
      assert.equal(created.length, 1, 'one created entry');
    } finally {
      await crashing.stop();
    }
  });

  test('SIGKILL of the leader: the other replica leads within 2 s; a TTL armed before fires once', async (t) => {
    const holder = async () => (await rows('SELECT holder, epoch FROM warren_coord_leader WHERE id = 1'))[0] as { holder: string; epoch: string };
    const before = await holder();
    const leader = fleet.replicas.find((r) => holds(before.holder, r));
    assert.ok(leader, `the leader ${before.holder} is one of the fleet's replicas`);
    assert.ok(leader.logs.some((l) => l.includes('this instance is the leader')), 'and says so in its log');
    const other = fleet.replicas.find((r) => r !== leader)!;

    const ttl = 20;
    const ws = await clientOf(leader).workspaces.create({
      image: 'node-20', name: 'ttl-once', memory_mb: 128, mode: 'temporary', config: { ttl, ttl_action: 'remove' },
    } as any);
    made.add(ws.id);
    await waitForStatus(asServer(other), ws.id, 'running', 120_000);
    const [{ started_at: startedAt }] = await rows('SELECT started_at FROM workspaces WHERE id = $1', [ws.id]);
    const expiresAt = Date.parse(startedAt) + ttl * 1000;
    assert.ok(expiresAt - Date.now() > 5_000, 'the TTL is still well ahead at the kill');

    await leader.kill('SIGKILL');
    const killedAt = Date.now();
    const next = await until('a new leader', async () => {
      const h = await holder();
      return h.holder !== before.holder && Number(h.epoch) > Number(before.epoch) ? h : undefined;
    }, 10_000);
    const takeoverMs = Date.now() - killedAt;
    t.diagnostic(`leader_takeover ${takeoverMs} ms (epoch ${before.epoch} → ${next.epoch})`);
    assert.ok(holds(next.holder, other), `the surviving replica leads (${next.holder})`);
    assert.ok(takeoverMs <= 2_000, `takeover took ${takeoverMs} ms`);

    await gone(other, ws.id, expiresAt - Date.now() + 30_000);
    made.delete(ws.id);
    t.diagnostic(`removed ${Date.now() - expiresAt} ms after the TTL expired`);
    const expiries = async () => rows("SELECT type, origin, reason FROM activity WHERE workspace_id = $1 AND origin = 'ttl'", [ws.id]);
    assert.deepEqual(await expiries(), [{ type: 'deleted', origin: 'ttl', reason: 'ttl expired' }], 'the expiry fired once');
    const deletions = async () => rows("SELECT origin FROM activity WHERE workspace_id = $1 AND type = 'deleted'", [ws.id]);
    assert.deepEqual(await deletions(), [{ origin: 'ttl' }], 'gone exactly once');

    // The killed replica comes back as a standby: nothing fires again.
    await leader.restart();
    await new Promise((r) => setTimeout(r, 3_000));
    assert.equal((await holder()).holder, next.holder, 'the new leader keeps leading');
    assert.equal((await expiries()).length, 1, 'still one expiry after the old leader returned');
    assert.equal((await deletions()).length, 1, 'and one deletion');
    const failed = await rows("SELECT type, details FROM activity WHERE workspace_id = $1 AND type = 'failed'", [ws.id]);
    assert.deepEqual(failed, [], 'no failed operation on it');
    assert.equal((await api(asServer(leader), 'GET', `/workspace/${ws.id}`)).status, 404);
  });
});
