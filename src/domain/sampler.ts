/**
 * StatsHub: live stats fanned out to every subscriber (control-plane.md §12).
 *
 * Contract:
 * - ONE sampler per workspace that has at least one subscriber: one timer reads the
 *   sandbox's counters every `intervalMs` and every subscriber gets the same event; when
 *   the last subscriber leaves, the timer stops and the sampler is dropped. N clients of
 *   one workspace cost what one does.
 * - A fresh sampler's first event comes after a `primerMs` primer reading (CPU % needs
 *   two readings); a subscriber joining a running sampler gets its latest event at once.
 * - The workspace's record reaches the hub through `observe` (every store write): once
 *   it is no longer live (stopping, stopped, restarting, deleted, …) or a reading fails,
 *   subscribers get a final `state: 'stopped'` event and `end()`, so streams end cleanly.
 * - `sampleOnce` answers GET /stats and details without a stream: the live sampler's
 *   latest event, else a reading against a recent one (kept up to a minute), else a
 *   primer pair.
 * The hub never touches the OS: `sample` is the port to the driver.
 */
import type { SandboxStats } from '../drivers/driver.js';
import type { WorkspaceRecord } from '../store/store.js';
import { isLive } from './lifecycle.js';
import { statsEvent, stoppedEvent, type CounterSample, type StatsEvent, type StatsLimits } from './stats.js';

export interface StatsListener {
  event(e: StatsEvent): void;
  /** The stream is over (after a final event when the workspace stopped). */
  end(): void;
}

export interface HubTimers {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

export interface StatsHubDeps {
  /** One reading of the sandbox's cumulative counters (driver.stats via the orchestrator). */
  sample(rec: WorkspaceRecord): Promise<SandboxStats>;
  /** Tick (ms); default 1000, at least 200. */
  intervalMs?: number;
  /** Gap between the two readings of a fresh sampler's first event (ms); default 100. */
  primerMs?: number;
  /** Monotonic ms (default performance.now) and epoch ms (default Date.now). */
  now?: () => number;
  wall?: () => number;
  timers?: HubTimers;
  /** A reading failed (the stream then ends). */
  onError?: (workspaceId: string, err: unknown) => void;
}

export const MIN_STATS_INTERVAL_MS = 200;
const RECENT_MAX_AGE_MS = 60_000;

const realTimers: HubTimers = {
  set: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clear: (h) => clearTimeout(h as NodeJS.Timeout),
};

function limitsOf(rec: WorkspaceRecord): StatsLimits {
  return { cpus: rec.config.cpus, memoryMb: rec.config.memory_mb };
}

function liveState(rec: WorkspaceRecord): 'running' | 'paused' {
  return rec.state === 'paused' || rec.state === 'pausing' ? 'paused' : 'running';
}

export class StatsHub {
  readonly intervalMs: number;
  readonly primerMs: number;
  private readonly samplers = new Map<string, Sampler>();
  /** Last reading per workspace taken by sampleOnce, for the next one's CPU %. */
  private readonly recent = new Map<string, { sample: CounterSample; startedAt: string | null }>();
  readonly now: () => number;
  readonly wall: () => number;
  readonly timers: HubTimers;

  constructor(readonly deps: StatsHubDeps) {
    this.intervalMs = Math.max(MIN_STATS_INTERVAL_MS, deps.intervalMs ?? 1000);
    this.primerMs = deps.primerMs ?? 100;
    this.now = deps.now ?? (() => performance.now());
    this.wall = deps.wall ?? Date.now;
    this.timers = deps.timers ?? realTimers;
  }

  /** Starts (or joins) the workspace's sampler; returns the unsubscribe function. */
  subscribe(rec: WorkspaceRecord, listener: StatsListener): () => void {
    if (!isLive(rec.state)) {
      queueMicrotask(() => {
        listener.event(stoppedEvent(rec.id, limitsOf(rec), this.wall()));
        listener.end();
      });
      return () => {};
    }
    let sampler = this.samplers.get(rec.id);
    if (!sampler) {
      sampler = new Sampler(rec, this, () => this.samplers.delete(rec.id));
      this.samplers.set(rec.id, sampler);
      sampler.add(listener);
      sampler.start();
    } else {
      sampler.add(listener);
    }
    const s = sampler;
    return () => s.remove(listener);
  }

  /** Every write of a workspace record (null: deleted); ends the streams of one no longer live. */
  observe(rec: WorkspaceRecord | null, id: string): void {
    this.samplers.get(id)?.observe(rec);
    if (!rec || !isLive(rec.state)) this.recent.delete(id);
  }

  /** The live sampler's latest event, if there is one. */
  latest(id: string): StatsEvent | null {
    return this.samplers.get(id)?.latest ?? null;
  }

  /** One event for a live workspace (GET /stats, details); see the module comment. */
  async sampleOnce(rec: WorkspaceRecord): Promise<StatsEvent> {
    const latest = this.latest(rec.id);
    if (latest) return latest;
    this.pruneRecent();
    let cur = await this.read(rec);
    const kept = this.recent.get(rec.id);
    let prev = kept && kept.startedAt === rec.startedAt && cur.at - kept.sample.at >= this.primerMs ? kept.sample : null;
    if (!prev) {
      prev = cur;
      await new Promise((r) => this.timers.set(() => r(undefined), this.primerMs));
      cur = await this.read(rec);
    }
    this.recent.set(rec.id, { sample: cur, startedAt: rec.startedAt });
    return statsEvent(rec.id, liveState(rec), cur, prev, limitsOf(rec));
  }

  /** How many samplers (timers) run now. */
  get activeSamplers(): number {
    return this.samplers.size;
  }

  /** The workspace was deleted: its streams end with a final event. */
  forget(id: string): void {
    this.observe(null, id);
  }

  /** Server shutdown: every stream ends, no timer is left. */
  close(): void {
    for (const s of [...this.samplers.values()]) s.close(false);
    this.recent.clear();
  }

  async read(rec: WorkspaceRecord): Promise<CounterSample> {
    const stats = await this.deps.sample(rec);
    return { at: this.now(), wall: this.wall(), stats };
  }

  private pruneRecent(): void {
    const oldest = this.now() - RECENT_MAX_AGE_MS;
    for (const [id, r] of this.recent) if (r.sample.at < oldest) this.recent.delete(id);
  }
}

/** One workspace's timer and subscribers. */
class Sampler {
  private readonly listeners = new Set<StatsListener>();
  private timer: unknown = null;
  private prev: CounterSample | null = null;
  private closed = false;
  latest: StatsEvent | null = null;

  constructor(private rec: WorkspaceRecord, private readonly hub: StatsHub, private readonly dropped: () => void) {}

  start(): void {
    this.schedule(0);
  }

  add(listener: StatsListener): void {
    this.listeners.add(listener);
    const latest = this.latest;
    if (latest) queueMicrotask(() => this.listeners.has(listener) && deliver(() => listener.event(latest)));
  }

  remove(listener: StatsListener): void {
    if (!this.listeners.delete(listener) || this.listeners.size > 0) return;
    this.close(false); // the last one left: the timer stops
  }

  observe(rec: WorkspaceRecord | null): void {
    if (!rec || !isLive(rec.state) || rec.startedAt !== this.rec.startedAt) this.close(true);
    else this.rec = rec;
  }

  /** Ends the sampler; `final`: subscribers first get the workspace's `stopped` event. */
  close(final: boolean): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== null) this.hub.timers.clear(this.timer);
    this.timer = null;
    this.dropped();
    const ev = stoppedEvent(this.rec.id, limitsOf(this.rec), this.hub.wall());
    for (const l of this.listeners) {
      if (final) deliver(() => l.event(ev));
      deliver(() => l.end());
    }
    this.listeners.clear();
  }

  private schedule(ms: number): void {
    this.timer = this.hub.timers.set(() => void this.tick(), ms);
  }

  private async tick(): Promise<void> {
    this.timer = null;
    if (this.closed) return;
    const t0 = this.hub.now();
    let cur: CounterSample;
    try {
      cur = await this.hub.read(this.rec);
    } catch (err) {
      this.hub.deps.onError?.(this.rec.id, err);
      this.close(true);
      return;
    }
    if (this.closed) return;
    const prev = this.prev;
    this.prev = cur;
    if (!prev) {
      this.schedule(this.hub.primerMs);
      return;
    }
    const ev = statsEvent(this.rec.id, liveState(this.rec), cur, prev, limitsOf(this.rec));
    this.latest = ev;
    for (const l of this.listeners) deliver(() => l.event(ev));
    // Fixed rate: the reading's own time is taken off the next wait.
    this.schedule(Math.max(0, this.hub.intervalMs - (this.hub.now() - t0)));
  }
}

/** A subscriber's failure is its own; it never stops the others' events. */
function deliver(fn: () => void): void {
  try {
    fn();
  } catch {
    /* ignored: see above */
  }
}
