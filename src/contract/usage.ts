/**
 * Query strings of the usage and activity routes (control-plane.md §13) and of
 * GET /workspace/estimate (§2) → typed commands. The SDK passes `usage.get` params
 * verbatim (`from`, `to`, `tier`, `last`, `all`); the CLI sends `period` (e.g. `7d`).
 * Bad input is 400 `bad_request` with `details.field` (the estimate keeps its
 * historical 422 `validation_error`).
 */
import { AppError } from './errors.js';
import type { UsageTier } from '../store/store.js';

export const USAGE_TIERS: readonly UsageTier[] = ['minute', 'hour', 'day'];
export const TIER_SECONDS: Record<UsageTier, number> = { minute: 60, hour: 3600, day: 86_400 };

/** What a usage query asks for. `from` null = from the first recorded bucket; `tier` null = chosen by span. */
export interface UsagePeriodQuery {
  from: string | null;
  to: string;
  tier: UsageTier | null;
}

/** A route's period when the query names none. */
export type DefaultPeriod = { lastSeconds: number } | 'all';

const UNITS: Record<string, number> = { s: 1, m: 60, min: 60, h: 3600, d: 86_400, w: 604_800 };
const MAX_SECONDS = 3660 * 86_400;

function bad(field: string, message: string): never {
  throw new AppError('bad_request', message, { field });
}

/** `30m`, `24h`, `7d`, `2w` (or bare seconds) → seconds. */
export function parseSpan(v: string, field: string): number {
  const m = /^(\d+)\s*(s|m|min|h|d|w)?$/.exec(v.trim());
  const seconds = m ? Number(m[1]) * UNITS[m[2] ?? 's']! : NaN;
  if (!(seconds > 0 && seconds <= MAX_SECONDS)) bad(field, `${field} must be a duration like 30m, 24h or 7d (at most 3660 days)`);
  return seconds;
}

/** An ISO-8601 date or date-time → the canonical ISO string. */
export function parseInstant(v: string, field: string): string {
  const ms = /^\d{4}-\d{2}-\d{2}/.test(v.trim()) ? Date.parse(v.trim()) : NaN;
  if (!Number.isFinite(ms)) bad(field, `${field} must be an ISO-8601 date or date-time, e.g. 2026-01-31T12:00:00Z`);
  return new Date(ms).toISOString();
}

function parseBool(v: string | undefined, field: string): boolean {
  if (v === undefined || v === '' || v === 'false' || v === '0') return false;
  if (v === 'true' || v === '1') return true;
  return bad(field, `${field} must be true or false`);
}

/**
 * `from`/`to` (ISO), `last` or `period` (a duration back from `to`), `all=true`
 * (everything recorded) and `tier` (minute|hour|day). At most one of from, last,
 * period and all; with none, `dflt` applies. `to` defaults to now.
 */
export function parseUsagePeriod(q: Record<string, string | undefined>, dflt: DefaultPeriod, now: number): UsagePeriodQuery {
  const given = (['from', 'last', 'period', 'all'] as const).filter((k) => q[k] !== undefined && q[k] !== '' && !(k === 'all' && !parseBool(q.all, 'all')));
  if (given.length > 1) bad(given[1]!, `Give only one of from, last, period and all (got ${given.join(' and ')})`);
  const to = q.to ? parseInstant(q.to, 'to') : new Date(now).toISOString();
  let tier: UsageTier | null = null;
  if (q.tier !== undefined && q.tier !== '') {
    if (!(USAGE_TIERS as readonly string[]).includes(q.tier)) bad('tier', `tier must be one of ${USAGE_TIERS.join(', ')}`);
    tier = q.tier as UsageTier;
  }
  const back = (seconds: number) => new Date(Date.parse(to) - seconds * 1000).toISOString();
  let from: string | null;
  if (q.from) from = parseInstant(q.from, 'from');
  else if (q.last) from = back(parseSpan(q.last, 'last'));
  else if (q.period) from = back(parseSpan(q.period, 'period'));
  else if (given[0] === 'all' || dflt === 'all') from = null;
  else from = back(dflt.lastSeconds);
  if (from !== null && from >= to) bad(q.from ? 'from' : 'to', 'from must be before to');
  return { from, to, tier };
}

/** Kinds of activity entries (src/domain/activity-log.ts). */
export const ACTIVITY_TYPES = [
  'created', 'started', 'stopped', 'paused', 'resumed', 'restarted', 'deleted', 'restored', 'archived', 'failed',
  'exited', 'snapshot', 'forked',
] as const;
export type ActivityType = (typeof ACTIVITY_TYPES)[number];

export interface ActivityQuery {
  workspaceId?: string;
  type?: ActivityType;
  /** Entries older than this id (`next_before` of the previous page). */
  before?: number;
  limit: number;
}

/** Public id of an activity entry. */
export const activityId = (n: number) => `act_${n}`;

/** `workspace_id?`, `type?`, `limit` (1–500, default 50), `before?` (`act_<n>` or `<n>`). */
export function parseActivityQuery(q: Record<string, string | undefined>): ActivityQuery {
  const out: ActivityQuery = { limit: 50 };
  if (q.limit !== undefined && q.limit !== '') {
    const n = Number(q.limit);
    if (!Number.isInteger(n) || n < 1 || n > 500) bad('limit', 'limit must be an integer between 1 and 500');
    out.limit = n;
  }
  if (q.type) {
    if (!(ACTIVITY_TYPES as readonly string[]).includes(q.type)) bad('type', `type must be one of ${ACTIVITY_TYPES.join(', ')}`);
    out.type = q.type as ActivityType;
  }
  if (q.before) {
    const m = /^(?:act_)?(\d{1,15})$/.exec(q.before);
    if (!m) bad('before', 'before must be an activity id such as act_42');
    out.before = Number(m[1]);
  }
  if (q.workspace_id) {
    if (!/^[A-Za-z0-9_-]{1,128}$/.test(q.workspace_id)) bad('workspace_id', 'workspace_id is not a workspace id');
    out.workspaceId = q.workspace_id;
  }
  return out;
}

export interface EstimateQuery {
  cpus: number;
  memoryMb: number;
  diskMb: number;
}

/** `cpu` (or `cpus`), `ram_mb` (or `memory_mb`), `disk_mb` (or `disk_size_mb`); defaults 1 / 512 / 512. */
export function parseEstimateQuery(q: Record<string, string | undefined>): EstimateQuery {
  const num = (v: string | undefined, field: string, dflt: number) => {
    if (v === undefined || v === '') return dflt;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new AppError('validation_error', `${field} must be a non-negative number`, { field });
    return n;
  };
  return {
    cpus: num(q.cpu ?? q.cpus, 'cpu', 1),
    memoryMb: num(q.ram_mb ?? q.memory_mb, 'ram_mb', 512),
    diskMb: num(q.disk_mb ?? q.disk_size_mb, 'disk_mb', 512),
  };
}
