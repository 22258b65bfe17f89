/**
 * When something must happen to a workspace by itself, computed from its stored record
 * alone (plus the in-memory activity clock for idle): so a deadline that passed while
 * the server was down is simply due at start. Pure; unit-tested.
 *
 * - `ttl`: a temporary workspace's TTL, counted from its start or the last renewal
 *   (ping, TTL change, resume), while it runs — or while paused when the TTL action
 *   would stop or remove it.
 * - `restart`: the restart policy's backoff ended.
 * - `idle-suspend`: a permanent workspace with an idle policy had no traffic for
 *   `suspend_after` (nothing in flight).
 * - `idle-stop`: asleep (paused by the idle policy) for `stop_after`.
 */
import type { IdlePolicy } from '../contract/lifecycle.js';
import type { WorkspaceConfig } from '../contract/workspace.js';
import type { WorkspaceRecord } from '../store/store.js';

export type DeadlineKind = 'ttl' | 'restart' | 'idle-suspend' | 'idle-stop';

export interface Deadline {
  kind: DeadlineKind;
  /** ms since the epoch */
  at: number;
}

export interface ActivityView {
  /** Last activity (ms since epoch) seen by this process, if any. */
  lastMs?: number;
  busy: boolean;
  /** When this process started watching (the idle clock's floor after a restart). */
  sinceMs: number;
}

/** The idle policy stored in a config (`extra.idle`, normalised by parseConfig), or null. */
export function idleOf(config: WorkspaceConfig): IdlePolicy | null {
  const v = config.extra.idle as Partial<IdlePolicy> | null | undefined;
  if (!v || typeof v.suspend_after !== 'number' || v.suspend_after <= 0) return null;
  return { suspend_after: v.suspend_after, stop_after: typeof v.stop_after === 'number' ? v.stop_after : 0 };
}

export function ttlDeadline(rec: WorkspaceRecord): number | null {
  if (rec.mode !== 'temporary' || rec.config.ttl === null || !rec.startedAt) return null;
  const renewed = rec.config.extra.ttl_renewed_at;
  const anchor = Math.max(Date.parse(rec.startedAt), typeof renewed === 'string' ? Date.parse(renewed) : 0);
  return anchor + rec.config.ttl * 1000;
}

export function deadlinesOf(rec: WorkspaceRecord, activity: ActivityView): Deadline[] {
  if (rec.pending) return [];
  const out: Deadline[] = [];
  const ttl = ttlDeadline(rec);
  const pausing = rec.config.ttl_action === 'pause' || rec.config.ttl_action === 'suspend';
  if (ttl !== null && (rec.state === 'running' || (rec.state === 'paused' && !pausing))) out.push({ kind: 'ttl', at: ttl });
  const next = rec.lifecycle.restart.next_restart_at;
  if (rec.state === 'stopped' && next) out.push({ kind: 'restart', at: Date.parse(next) });
  const idle = idleOf(rec.config);
  if (idle && rec.mode === 'permanent') {
    if (rec.state === 'running' && !activity.busy) {
      const started = rec.startedAt ? Date.parse(rec.startedAt) : 0;
      const last = Math.max(activity.lastMs ?? 0, activity.sinceMs, started);
      out.push({ kind: 'idle-suspend', at: last + idle.suspend_after * 1000 });
    }
    const asleep = rec.lifecycle.asleep;
    if (rec.state === 'paused' && asleep?.state === 'paused' && idle.stop_after > 0) {
      out.push({ kind: 'idle-stop', at: Date.parse(asleep.since) + idle.stop_after * 1000 });
    }
  }
  return out;
}

/** Longest single setTimeout Node keeps (about 24.8 days); longer waits re-arm. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** One timer per key; setting a key replaces its timer. Timers never keep the process alive. */
export class Timers {
  private readonly timers = new Map<string, NodeJS.Timeout>();

  set(key: string, at: number, fn: () => void): void {
    this.clear(key);
    const wait = Math.max(0, at - Date.now());
    const timer = setTimeout(() => {
      this.timers.delete(key);
      if (wait > MAX_TIMER_MS) this.set(key, at, fn);
      else fn();
    }, Math.min(wait, MAX_TIMER_MS));
    timer.unref();
    this.timers.set(key, timer);
  }

  clear(key: string): void {
    const t = this.timers.get(key);
    if (t) clearTimeout(t);
    this.timers.delete(key);
  }

  /** Keys currently armed (tests, diagnostics). */
  keys(): string[] {
    return [...this.timers.keys()];
  }

  clearAll(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }
}
