/**
 * CPU and memory history of the listed running workspaces, for the sparklines. Every
 * `STATS_INTERVAL_MS` (and when the set of ids changes) it reads `GET /workspace/:id/stats`
 * for the ids on screen — at most `MAX_PER_TICK` of them, `CONCURRENCY` requests at a time —
 * and keeps the last `POINTS` samples per workspace, client-side only. A workspace that
 * fails to answer (it just stopped) simply gets no point; ids that left the list are dropped.
 * Values: `cpu_percent_of_limit` and `memory_usage` (% of the memory limit), StatsEvent of
 * src/domain/stats.ts.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../api/client.js';
import { useInterval } from '../components/use-async.js';

export const STATS_INTERVAL_MS = 5000;
export const POINTS = 30;
export const CONCURRENCY = 3;
export const MAX_PER_TICK = 40;

export interface Series {
  cpu: number[];
  mem: number[];
}
export type History = ReadonlyMap<string, Series>;

interface Sample { id: string; cpu: number; mem: number }

/**
 * A new history with one sample per workspace appended (at most `cap` kept) and absent ids
 * dropped; the same history when nothing changes (no re-render).
 */
export function mergeSamples(history: History, samples: Sample[], keep: ReadonlySet<string>, cap = POINTS): History {
  const applies = samples.some((s) => keep.has(s.id));
  if (!applies && [...history.keys()].every((id) => keep.has(id))) return history;
  const next = new Map<string, Series>();
  for (const [id, s] of history) if (keep.has(id)) next.set(id, s);
  for (const { id, cpu, mem } of samples) {
    if (!keep.has(id)) continue;
    const prev = next.get(id) ?? { cpu: [], mem: [] };
    next.set(id, { cpu: [...prev.cpu, cpu].slice(-cap), mem: [...prev.mem, mem].slice(-cap) });
  }
  return next;
}

/** Runs `fn` over `items` with at most `limit` in flight; never rejects. */
export async function runLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await fn(item).catch(() => undefined);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

interface StatsBody { cpu_percent_of_limit?: number; memory_usage?: number; stats?: StatsBody }

async function sample(id: string, signal: AbortSignal): Promise<Sample> {
  const body = await api<StatsBody>('GET', `/workspace/${encodeURIComponent(id)}/stats`, { signal });
  const s = body.stats ?? body;
  return { id, cpu: s.cpu_percent_of_limit ?? 0, mem: s.memory_usage ?? 0 };
}

/**
 * `ids`: the running workspaces listed; `visible()`: those on screen, or null when unknown
 * (then all of `ids` are read, up to the cap).
 */
export function useStatsHistory(ids: string[], visible: () => ReadonlySet<string> | null): History {
  const [history, setHistory] = useState<History>(() => new Map());
  const latest = useRef(ids);
  latest.current = ids;
  const busy = useRef(false);
  const ctl = useRef(new AbortController());
  useEffect(() => () => ctl.current.abort(), []);

  const tick = async () => {
    if (busy.current) return;
    const all = latest.current;
    const seen = visible();
    const targets = (seen ? all.filter((id) => seen.has(id)) : all).slice(0, MAX_PER_TICK);
    busy.current = true;
    const samples: Sample[] = [];
    try {
      await runLimited(targets, CONCURRENCY, async (id) => { samples.push(await sample(id, ctl.current.signal)); });
    } finally {
      busy.current = false;
    }
    if (ctl.current.signal.aborted) return;
    const keep = new Set(latest.current);
    setHistory((h) => mergeSamples(h, samples, keep));
  };

  const key = ids.join(',');
  useEffect(() => { void tick(); }, [key]);
  useInterval(() => { void tick(); }, STATS_INTERVAL_MS);
  return history;
}
