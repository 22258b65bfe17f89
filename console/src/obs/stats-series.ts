/**
 * The monitor's data: a 15-minute window (900 one-second points) of CPU %, memory,
 * disk and network rates built from `StatsEvent`s, in a ring buffer. Pure (no DOM).
 *
 * Contracts:
 * - Events are placed by their own `timestamp`; one not newer than the last point is
 *   ignored (a resubscriber's first event repeats the latest one).
 * - Network rates come from the cumulative counters of consecutive events (so ticks a
 *   slow reader lost are averaged in, not dropped); when there is no usable previous
 *   counter (first event, counters reset by a restart) the event's own `rx_rate`/`tx_rate`.
 * - A `stopped` event, or a silence longer than `GAP_SECONDS`, inserts a gap (null values)
 *   so the chart does not draw a line across a time with no data.
 * - `data()` gives uPlot's aligned arrays: [times (s), cpu, memMb, diskMb, rx, tx].
 */
import type { StatsEvent } from '../api/stats.js';
import { Ring } from './ring.js';

export const WINDOW_POINTS = 900;
export const GAP_SECONDS = 5;

export interface Point {
  t: number;
  cpu: number | null;
  mem: number | null;
  disk: number | null;
  rx: number | null;
  tx: number | null;
}

export type Aligned = [number[], (number | null)[], (number | null)[], (number | null)[], (number | null)[], (number | null)[]];

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

function gapAt(t: number): Point {
  return { t, cpu: null, mem: null, disk: null, rx: null, tx: null };
}

export class StatsSeries {
  private readonly points: Ring<Point>;
  private counters: { t: number; rx: number; tx: number } | null = null;
  /** The newest event taken (for the text values and the limits). */
  latest: StatsEvent | null = null;

  constructor(capacity = WINDOW_POINTS) {
    this.points = new Ring<Point>(capacity);
  }

  get length(): number {
    return this.points.length;
  }

  /** Real (non-gap) points kept. */
  get samples(): number {
    let n = 0;
    for (let i = 0; i < this.points.length; i++) if (this.points.at(i)!.cpu !== null) n++;
    return n;
  }

  /** Adds one event; returns whether the window changed. */
  add(ev: StatsEvent): boolean {
    const ms = Date.parse(ev.timestamp ?? '');
    if (!Number.isFinite(ms)) return false;
    const t = ms / 1000;
    const last = this.points.last();
    if (last && t <= last.t) return false;
    if (ev.state === 'stopped') {
      this.latest = ev;
      this.counters = null;
      if (last && last.cpu !== null) this.points.push(gapAt(t));
      return true;
    }
    if (last && last.cpu !== null && t - last.t > GAP_SECONDS) this.points.push(gapAt((last.t + t) / 2));
    const rates = this.rates(t, ev);
    this.points.push({
      t,
      cpu: num(ev.cpu_usage) ?? 0,
      mem: num(ev.memory_used_mb),
      disk: num(ev.disk_used_mb),
      rx: rates.rx,
      tx: rates.tx,
    });
    this.latest = ev;
    return true;
  }

  private rates(t: number, ev: StatsEvent): { rx: number | null; tx: number | null } {
    const rx = num(ev.rx_bytes) ?? num(ev.network?.rx);
    const tx = num(ev.tx_bytes) ?? num(ev.network?.tx);
    const prev = this.counters;
    this.counters = rx !== null && tx !== null ? { t, rx, tx } : null;
    const dt = prev ? t - prev.t : 0;
    if (prev && rx !== null && tx !== null && dt > 0 && rx >= prev.rx && tx >= prev.tx) {
      return { rx: (rx - prev.rx) / dt, tx: (tx - prev.tx) / dt };
    }
    return { rx: num(ev.rx_rate), tx: num(ev.tx_rate) };
  }

  /** The newest real point (null when there is none or the last one is a gap). */
  current(): Point | null {
    const last = this.points.last();
    return last && last.cpu !== null ? last : null;
  }

  data(): Aligned {
    const pts = this.points.toArray();
    return [
      pts.map((p) => p.t), pts.map((p) => p.cpu), pts.map((p) => p.mem),
      pts.map((p) => p.disk), pts.map((p) => p.rx), pts.map((p) => p.tx),
    ];
  }
}
