import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SandboxStats } from '../drivers/driver.js';
import { sampleWorkspace } from '../store/contract-fixtures.js';
import type { WorkspaceRecord } from '../store/store.js';
import { StatsHub, type HubTimers, type StatsListener } from './sampler.js';
import type { StatsEvent } from './stats.js';

/** A manual clock: timers run only when `advance` passes their time. */
class FakeClock implements HubTimers {
  t = 0;
  private seq = 0;
  readonly pending = new Map<number, { due: number; fn: () => void }>();
  set(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.pending.set(id, { due: this.t + ms, fn });
    return id;
  }
  clear(h: unknown): void {
    this.pending.delete(h as number);
  }
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      await flush();
      const next = [...this.pending.entries()].filter(([, p]) => p.due <= end).sort((a, b) => a[1].due - b[1].due)[0];
      if (!next) break;
      this.pending.delete(next[0]);
      this.t = Math.max(this.t, next[1].due);
      next[1].fn();
    }
    this.t = end;
    await flush();
  }
}
const flush = () => new Promise((r) => setImmediate(r));

/** A workspace burning `cores` of CPU: its counter grows with the fake clock. */
function setup(opts: { cores?: number; interval?: number } = {}) {
  const clock = new FakeClock();
  let reads = 0;
  let fail = false;
  const cores = { n: opts.cores ?? 0.5 };
  const hub = new StatsHub({
    sample: async (): Promise<SandboxStats> => {
      reads++;
      if (fail) throw new Error('cgroup gone');
      return {
        cpuUsageNs: clock.t * 1e6 * cores.n, memoryBytes: 64 * 1024 * 1024, memoryLimitBytes: 0, pids: 4,
        diskUsedBytes: 0, diskLimitBytes: 0, networkRxBytes: clock.t, networkTxBytes: 0,
      };
    },
    intervalMs: opts.interval ?? 1000, primerMs: 100, now: () => clock.t, wall: () => clock.t, timers: clock,
  });
  return { hub, clock, reads: () => reads, failNext: () => (fail = true), cores };
}

function recorder() {
  const events: StatsEvent[] = [];
  let ended = 0;
  const listener: StatsListener = { event: (e) => events.push(e), end: () => ended++ };
  return { listener, events, ended: () => ended };
}

const rec = (o: Partial<WorkspaceRecord> = {}) => sampleWorkspace({ state: 'running', ...o });

test('one timer for N subscribers; every subscriber gets the same events', async () => {
  const { hub, clock, reads } = setup();
  const ws = rec();
  const subs = Array.from({ length: 5 }, recorder);
  const unsubs = subs.map((s) => hub.subscribe(ws, s.listener));
  assert.equal(hub.activeSamplers, 1);
  await clock.advance(100);
  for (const s of subs) assert.equal(s.events.length, 1, 'first event after the 100 ms primer');
  assert.equal(subs[0]!.events[0]!.cpu_usage, 50);
  await clock.advance(3000);
  assert.ok(clock.pending.size <= 1, 'never more than one timer');
  for (const s of subs) assert.equal(s.events.length, 4);
  assert.equal(reads(), 5, 'primer + 4 ticks: one reading per tick, however many subscribers');
  assert.deepEqual(subs.map((s) => s.events.at(-1)), subs.map(() => subs[0]!.events.at(-1)));
  unsubs.forEach((u) => u());
});

test('the timer stops when the last subscriber leaves, and a late joiner gets the latest event at once', async () => {
  const { hub, clock, reads } = setup();
  const ws = rec();
  const a = recorder();
  const b = recorder();
  const ua = hub.subscribe(ws, a.listener);
  await clock.advance(1100);
  const ub = hub.subscribe(ws, b.listener);
  await flush();
  assert.equal(b.events.length, 1, 'the latest event, without waiting for a tick');
  ua();
  await clock.advance(1000);
  assert.equal(hub.activeSamplers, 1, 'one subscriber left: still sampling');
  assert.equal(b.events.length, 2);
  ub();
  assert.equal(hub.activeSamplers, 0);
  assert.equal(clock.pending.size, 0, 'no timer left');
  const before = reads();
  await clock.advance(5000);
  assert.equal(reads(), before, 'no reading after the last unsubscribe');
  assert.equal(a.ended() + b.ended(), 0, 'unsubscribing is not an end of the workspace');
});

test('a workspace that stops: a final stopped event and end for every subscriber', async () => {
  const { hub, clock } = setup();
  const ws = rec();
  const subs = [recorder(), recorder()];
  subs.forEach((s) => hub.subscribe(ws, s.listener));
  await clock.advance(1100);
  hub.observe({ ...ws, metadata: { x: 'y' } }, ws.id);
  assert.equal(hub.activeSamplers, 1, 'a write that keeps it live changes nothing');
  hub.observe({ ...ws, state: 'stopping' }, ws.id);
  for (const s of subs) {
    assert.equal(s.events.at(-1)!.state, 'stopped');
    assert.equal(s.ended(), 1);
  }
  assert.equal(hub.activeSamplers, 0);
  assert.equal(clock.pending.size, 0);
});

test('a reading that fails ends the streams the same way', async () => {
  const { hub, clock, failNext } = setup();
  const s = recorder();
  hub.subscribe(rec(), s.listener);
  await clock.advance(100);
  failNext();
  await clock.advance(1000);
  assert.equal(s.events.length, 2);
  assert.equal(s.events[1]!.state, 'stopped');
  assert.equal(s.ended(), 1);
  assert.equal(hub.activeSamplers, 0);
});

test('subscribing to a workspace that is not live ends at once; a restart ends the stream', async () => {
  const { hub, clock } = setup();
  const s = recorder();
  hub.subscribe(rec({ state: 'stopped' }), s.listener);
  await flush();
  assert.equal(s.events[0]!.state, 'stopped');
  assert.equal(s.ended(), 1);
  assert.equal(hub.activeSamplers, 0);
  const ws = rec();
  const r = recorder();
  hub.subscribe(ws, r.listener);
  await clock.advance(100);
  hub.observe({ ...ws, startedAt: '2030-01-01T00:00:00.000Z' }, ws.id);
  assert.equal(r.ended(), 1, 'new counters: the old stream ends');
});

test('paused workspaces report state paused; a throwing listener does not starve the others', async () => {
  const { hub, clock, cores } = setup();
  const ws = rec({ state: 'paused' });
  cores.n = 0;
  const bad: StatsListener = { event: () => { throw new Error('boom'); }, end: () => {} };
  const good = recorder();
  hub.subscribe(ws, bad);
  hub.subscribe(ws, good.listener);
  await clock.advance(1100);
  assert.equal(good.events.length, 2);
  assert.equal(good.events[0]!.state, 'paused');
  assert.equal(good.events[0]!.cpu_usage, 0);
});

test('sampleOnce: the live latest event, else a primer pair, then the recent reading', async () => {
  const { hub, clock, reads, cores } = setup();
  cores.n = 1;
  const ws = rec();
  const once = hub.sampleOnce(ws);
  await clock.advance(100);
  const first = await once;
  assert.equal(first.cpu_usage, 100);
  assert.equal(reads(), 2, 'primer pair');
  await clock.advance(2000);
  const second = await hub.sampleOnce(ws);
  assert.equal(reads(), 3, 'against the recent reading: one more, no primer');
  assert.equal(second.cpu_usage, 100);
  assert.equal(second.rx_rate, 1000, 'rates over the 2 s since the recent reading');
  const s = recorder();
  const u = hub.subscribe(ws, s.listener);
  await clock.advance(100);
  assert.deepEqual(await hub.sampleOnce(ws), s.events.at(-1), 'the live sampler answers');
  u();
});

test('the interval has a floor of 200 ms', () => {
  assert.equal(setup({ interval: 10 }).hub.intervalMs, 200);
});
