/**
 * The behaviour every CoordinationPort implementation must show, as node:test cases, run
 * against the in-process one (one instance) and the PostgreSQL one (several coordinators
 * over one database standing for replicas). `runCoordinationContract(name, harness)`.
 *
 * A harness makes a fresh world per test: `replicas` started coordinators (as many as the
 * implementation supports, at most the number asked), a counter all of them share (a table
 * for PostgreSQL), and, where the implementation spans processes, a crash kit: a replica in
 * a child process that is SIGKILLed holding a lease or leadership, and a way to cut a
 * replica's sessions (deposing it while it still runs).
 */
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { StaleEpochError, type CoordinationPort } from '../domain/ports.js';

export interface SharedCounter {
  read(): Promise<number>;
  add(): Promise<void>;
}

/** A replica in another process, killed with SIGKILL (no release, no goodbye). */
export interface ChildReplica {
  kill(): void;
}

export interface CrashKit {
  /** A child replica that takes the lease of workspace `id` and holds it until killed. */
  holdLease(id: string): Promise<ChildReplica>;
  /** A child replica that is the leader (resolves once it is) until killed. */
  lead(): Promise<ChildReplica>;
  /** The lease TTL the world was made with (ms). */
  leaseTtlMs: number;
  /** Ends `c`'s database sessions from the server side; `c` itself keeps running. */
  cutSessions(c: CoordinationPort): Promise<void>;
}

export interface CoordinationWorld {
  coords: CoordinationPort[];
  /** Another started coordinator of the same world (PostgreSQL: a new replica). */
  add(): Promise<CoordinationPort>;
  counter: SharedCounter;
  crash: CrashKit | null;
  close(): Promise<void>;
}

export interface CoordinationHarness {
  world(replicas: number): Promise<CoordinationWorld>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until `check()` holds; fails the test past `ms`. Resolves with how long it took. */
export async function until(what: string, ms: number, check: () => boolean): Promise<number> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > ms) assert.fail(`${what}: not within ${ms} ms`);
    await sleep(10);
  }
  return Date.now() - start;
}

const leaders = (cs: CoordinationPort[]) => cs.filter((c) => c.leadership.isLeader());

export function runCoordinationContract(name: string, harness: CoordinationHarness): void {
  async function fresh(t: TestContext, replicas: number): Promise<CoordinationWorld> {
    const w = await harness.world(replicas);
    // The implementations' timers are unref'd (they never hold a server open): keep this test's loop alive.
    const alive = setInterval(() => {}, 1_000);
    t.after(async () => {
      clearInterval(alive);
      await w.close();
    });
    return w;
  }
  const pick = (w: CoordinationWorld, i: number) => w.coords[i % w.coords.length]!;

  describe(`Coordination contract: ${name}`, { timeout: 60_000 }, () => {
    test('operations on one workspace never overlap, across replicas', async (t) => {
      const w = await fresh(t, 3);
      let inside = 0;
      let most = 0;
      let done = 0;
      await Promise.all(Array.from({ length: 24 }, (_, i) => pick(w, i).run('ws-1', async () => {
        inside += 1;
        most = Math.max(most, inside);
        await sleep(3);
        inside -= 1;
        done += 1;
      })));
      assert.equal(most, 1, 'never two operations on one workspace at once');
      assert.equal(done, 24);
    });

    test('operations on different workspaces run in parallel', async (t) => {
      const w = await fresh(t, 2);
      let entered = 0;
      const both = (id: string, i: number) => pick(w, i).run(id, async () => {
        entered += 1;
        await until('the other workspace\'s operation runs meanwhile', 5_000, () => entered === 2);
      });
      await Promise.all([both('ws-a', 0), both('ws-b', 1)]);
    });

    test('runWithin gives up after its bound while another replica holds the workspace', async (t) => {
      const w = await fresh(t, 2);
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      let entered = false;
      const holder = pick(w, 0).run('ws-busy', async () => { entered = true; await held; });
      await until('the holder runs', 5_000, () => entered);
      let ran = false;
      const started = Date.now();
      await assert.rejects(pick(w, 1).runWithin('ws-busy', 200, () => new Error('busy'), async () => { ran = true; }), /busy/);
      const waited = Date.now() - started;
      assert.equal(ran, false, 'fn never runs when busy');
      assert.ok(waited >= 150 && waited < 1_500, `gave up at its bound (${waited} ms)`);
      const after = pick(w, 1).runWithin('ws-busy', 5_000, () => new Error('busy'), async () => 'ran');
      release();
      await holder;
      assert.equal(await after, 'ran', 'a bounded wait long enough gets its turn');
    });

    test('a holder killed without releasing: its lease is taken once it expired', async (t) => {
      const w = await fresh(t, 1);
      if (!w.crash) return t.skip('one process: a crash ends every holder with it');
      const child = await w.crash.holdLease('ws-dead');
      child.kill();
      const killedAt = Date.now();
      await w.coords[0]!.run('ws-dead', async () => {});
      const took = Date.now() - killedAt;
      const ttl = w.crash.leaseTtlMs;
      assert.ok(took >= ttl / 3 - 100, `not taken while the lease was still valid (${took} ms)`);
      assert.ok(took <= ttl + 1_500, `taken soon after expiry (${took} ms, TTL ${ttl} ms)`);
    });

    test('an operation longer than the lease TTL keeps its workspace (the lease is renewed)', async (t) => {
      const w = await fresh(t, 2);
      const ttl = w.crash?.leaseTtlMs ?? 300;
      const order: string[] = [];
      let entered = false;
      const long = pick(w, 0).run('ws-long', async () => {
        entered = true;
        order.push('long begins');
        await sleep(ttl * 2.5);
        order.push('long ends');
      });
      await until('the long operation runs', 5_000, () => entered);
      await pick(w, 1).run('ws-long', async () => void order.push('next'));
      await long;
      assert.deepEqual(order, ['long begins', 'long ends', 'next']);
    });

    test('50 concurrent reservations split across replicas against a limit of 10: exactly 10', async (t) => {
      const w = await fresh(t, 3);
      const results = await Promise.all(Array.from({ length: 50 }, (_, i) => pick(w, i).reserve(async () => {
        const n = await w.counter.read();
        if (n >= 10) return false;
        await sleep(1); // widen the window a missing lock would let another reservation into
        await w.counter.add();
        return true;
      })));
      assert.equal(results.filter(Boolean).length, 10);
      assert.equal(await w.counter.read(), 10);
    });

    test('exactly one leader, with an epoch', async (t) => {
      const w = await fresh(t, 3);
      await until('a leader', 3_000, () => leaders(w.coords).length > 0);
      for (let i = 0; i < 5; i += 1) {
        assert.equal(leaders(w.coords).length, 1, 'one leader at a time');
        await sleep(150);
      }
      const l = leaders(w.coords)[0]!;
      assert.ok(typeof l.leadership.epoch() === 'number' && l.leadership.epoch()! > 0);
      for (const c of w.coords) if (c !== l) assert.equal(c.leadership.epoch(), null);
    });

    test('the leader SIGKILLed: another replica leads within 2 s', async (t) => {
      const w = await fresh(t, 0);
      if (!w.crash) return t.skip('one process: the leader dies with every replica');
      const child = await w.crash.lead();
      const standby = [await w.add(), await w.add()];
      await sleep(600); // the standbys tried and failed at least once
      assert.equal(leaders(standby).length, 0, 'no second leader while the first lives');
      const changes: boolean[] = [];
      for (const c of standby) c.leadership.onChange((leader) => changes.push(leader));
      child.kill();
      const took = await until('a new leader', 2_000, () => leaders(standby).length === 1);
      t.diagnostic(`leader_takeover_ms=${took}`);
      assert.deepEqual(changes, [true], 'the change callback fired once');
    });

    test('a deposed leader\'s fenced write is refused; the current leader\'s goes through', async (t) => {
      const w = await fresh(t, 2);
      await until('a leader', 3_000, () => leaders(w.coords).length === 1);
      const first = leaders(w.coords)[0]!;
      const epoch = first.leadership.epoch()!;
      const writes: number[] = [];
      await first.leadership.fenced(epoch, async () => void writes.push(epoch));
      await assert.rejects(first.leadership.fenced(epoch + 1, async () => void writes.push(-1)), StaleEpochError);
      if (w.crash) {
        const changes: boolean[] = [];
        first.leadership.onChange((leader) => changes.push(leader));
        await w.crash.cutSessions(first);
        await until('the deposed leader hears it', 2_000, () => changes[0] === false);
        await until('a new term', 3_000, () => w.coords.some((c) => (c.leadership.epoch() ?? 0) > epoch));
        await assert.rejects(first.leadership.fenced(epoch, async () => void writes.push(-2)), StaleEpochError);
        const next = leaders(w.coords)[0]!;
        await next.leadership.fenced(next.leadership.epoch()!, async () => void writes.push(next.leadership.epoch()!));
      }
      assert.ok(writes.every((e) => e > 0), `only current terms wrote (${writes.join(', ')})`);
    });

    test('a new term waits for the deposed leader\'s fenced section in flight', async (t) => {
      const w = await fresh(t, 2);
      if (!w.crash) return t.skip('one process: a single, permanent term');
      await until('a leader', 3_000, () => leaders(w.coords).length === 1);
      const first = leaders(w.coords)[0]!;
      const other = w.coords.find((c) => c !== first)!;
      let release!: () => void;
      let inside = false;
      const section = first.leadership.fenced(first.leadership.epoch()!, async () => {
        inside = true;
        await new Promise<void>((r) => (release = r));
        return 'written';
      });
      await until('the section runs', 2_000, () => inside);
      await w.crash.cutSessions(first); // deposed while its write is in flight
      await sleep(1_200);
      assert.equal(other.leadership.isLeader(), false, 'no new term while the old term\'s write runs');
      release();
      assert.equal(await section, 'written', 'begun under a valid term, it completes');
      await until('the new term after it', 2_000, () => w.coords.some((c) => c.leadership.isLeader()));
    });

    test('a message published on one replica reaches every subscriber within 1 s, once', async (t) => {
      const w = await fresh(t, 2);
      const heard = w.coords.map(() => [] as string[]);
      w.coords.forEach((c, i) => c.bus.subscribe('access.revoked', (p) => heard[i]!.push(p.workspaceId)));
      const from = pick(w, 0);
      const sent = from.bus.publish('access.revoked', { workspaceId: 'ws-cut' });
      assert.deepEqual(heard[0], ['ws-cut'], 'the publisher\'s own subscribers ran before publish returned');
      await sent;
      const took = await until('every replica heard it', 1_000, () => heard.every((h) => h.length >= 1));
      t.diagnostic(`bus_delivery_ms=${took}`);
      await sleep(200);
      assert.deepEqual(heard, w.coords.map(() => ['ws-cut']), 'delivered once to each, no echo');
    });

    test('a replica whose bus connection dropped listens again and hears later messages', async (t) => {
      const w = await fresh(t, 2);
      if (!w.crash) return t.skip('one process: no connection to drop');
      const [a, b] = w.coords as [CoordinationPort, CoordinationPort];
      const heard: string[] = [];
      b.bus.subscribe('public.revoked', (p) => heard.push(`${p.workspaceId}:${p.port}`));
      await w.crash.cutSessions(b);
      let n = 0;
      const took = await (async () => {
        const start = Date.now();
        while (heard.length === 0) {
          if (Date.now() - start > 5_000) assert.fail('the replica never heard again');
          await a.bus.publish('public.revoked', { workspaceId: 'ws-again', port: 3000 + (n += 1) });
          await sleep(100);
        }
        return Date.now() - start;
      })();
      t.diagnostic(`bus_relisten_ms=${took}`);
      assert.match(heard[0]!, /^ws-again:30\d\d$/);
    });
  });
}
