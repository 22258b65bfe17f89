import { describe, expect, it } from 'vitest';
import type { StatsEvent } from '../api/stats.js';
import { StatsSeries, WINDOW_POINTS } from './stats-series.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const at = (s: number) => new Date(T0 + s * 1000).toISOString();
const ev = (s: number, o: Partial<StatsEvent> = {}): StatsEvent => ({
  state: 'running', timestamp: at(s), cpu_usage: 10, memory_used_mb: 100, memory_total_mb: 512,
  disk_used_mb: 20, disk_total_mb: 1024, rx_bytes: 0, tx_bytes: 0, rx_rate: 0, tx_rate: 0, ...o,
});

describe('StatsSeries', () => {
  it('builds aligned series in seconds, ignoring repeated or older events', () => {
    const s = new StatsSeries();
    expect(s.add(ev(0, { cpu_usage: 5 }))).toBe(true);
    expect(s.add(ev(1, { cpu_usage: 97.3 }))).toBe(true);
    expect(s.add(ev(1, { cpu_usage: 50 }))).toBe(false);
    expect(s.add(ev(0.5))).toBe(false);
    const [xs, cpu, mem, disk] = s.data();
    expect(xs).toEqual([T0 / 1000, T0 / 1000 + 1]);
    expect(cpu).toEqual([5, 97.3]);
    expect(mem).toEqual([100, 100]);
    expect(disk).toEqual([20, 20]);
    expect(s.current()?.cpu).toBe(97.3);
    expect(s.samples).toBe(2);
  });

  it('computes network rates from the cumulative counters, over the real interval', () => {
    const s = new StatsSeries();
    s.add(ev(0, { rx_bytes: 1000, tx_bytes: 500, rx_rate: 7, tx_rate: 3 }));
    s.add(ev(1, { rx_bytes: 3000, tx_bytes: 600, rx_rate: 999, tx_rate: 999 }));
    s.add(ev(3, { rx_bytes: 7000, tx_bytes: 600 })); // a tick was lost: the rate spans 2 s
    const [, , , , rx, tx] = s.data();
    expect(rx).toEqual([7, 2000, 2000]);
    expect(tx).toEqual([3, 100, 0]);
  });

  it('falls back to the event rate when the counters went backwards (restart)', () => {
    const s = new StatsSeries();
    s.add(ev(0, { rx_bytes: 5000, tx_bytes: 5000 }));
    s.add(ev(1, { rx_bytes: 100, tx_bytes: 50, rx_rate: 100, tx_rate: 50 }));
    expect(s.data()[4]).toEqual([0, 100]);
  });

  it('reads the counters from `network` when the flat fields are absent', () => {
    const s = new StatsSeries();
    s.add({ timestamp: at(0), cpu_usage: 1, network: { rx: 0, tx: 0 } });
    s.add({ timestamp: at(2), cpu_usage: 1, network: { rx: 4096, tx: 2048 } });
    expect(s.data()[4]).toEqual([null, 2048]);
    expect(s.data()[5]).toEqual([null, 1024]);
  });

  it('a stopped event and a long silence leave gaps (nulls), and counters start over', () => {
    const s = new StatsSeries();
    s.add(ev(0, { rx_bytes: 100 }));
    s.add(ev(1, { state: 'stopped', cpu_usage: 0 }));
    expect(s.current()).toBeNull();
    expect(s.latest?.state).toBe('stopped');
    s.add(ev(60, { rx_bytes: 10, rx_rate: 4 }));
    s.add(ev(61, { rx_bytes: 20 }));
    s.add(ev(100, { rx_bytes: 30 }));
    const [xs, cpu, , , rx] = s.data();
    expect(cpu).toEqual([10, null, 10, 10, null, 10]);
    expect(xs[4]).toBeGreaterThan(xs[3]!);
    expect(xs[4]).toBeLessThan(xs[5]!);
    expect(rx![2]).toBe(4);
    expect(rx![3]).toBe(10);
    expect(s.samples).toBe(4);
  });

  it('keeps a 15-minute window of one-second points', () => {
    const s = new StatsSeries();
    for (let i = 0; i < 2000; i++) s.add(ev(i, { cpu_usage: i }));
    const [xs, cpu] = s.data();
    expect(xs.length).toBe(WINDOW_POINTS);
    expect(cpu[0]).toBe(2000 - WINDOW_POINTS);
    expect(cpu[WINDOW_POINTS - 1]).toBe(1999);
  });

  it('ignores events without a readable timestamp', () => {
    const s = new StatsSeries();
    expect(s.add({ cpu_usage: 5 })).toBe(false);
    expect(s.length).toBe(0);
  });
});
