/**
 * Query strings of the usage and activity routes (control-plane.md §13) and of
 * GET /workspace/estimate (§2) → typed commands. The SDK passes `usage.get` params
 * verbatim (`from`, `to`, `tier`, `last`, `all`); the CLI sends `period` (e.g. `7d`).
 * Bad input is 400 `bad_request` with `details.field` (the estimate keeps its
 * historical 422 `validation_error`).
 */
import { z } from 'zod';
import { AppError } from './errors.js';
import { isOn, matchingText, numberOr, oneOfText, wholeNumber } from './query-text.js';
import { parseWith, type FieldCodes } from './zod-parse.js';
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

type Problem = { field: string; message: string } | null;

/** `30m`, `24h`, `7d`, `2w` (or bare seconds) → seconds; null for anything else or beyond MAX_SECONDS. */
function spanSeconds(v: string): number | null {
  const m = /^(\d+)\s*(s|m|min|h|d|w)?$/.exec(v.trim());
  const seconds = m ? Number(m[1]) * UNITS[m[2] ?? 's']! : NaN;
  return seconds > 0 && seconds <= MAX_SECONDS ? seconds : null;
}

const spanRule = (field: string) => `${field} must be a duration like 30m, 24h or 7d (at most 3660 days)`;

/** `30m`, `24h`, `7d`, `2w` (or bare seconds) → seconds. */
export function parseSpan(v: string, field: string): number {
  const seconds = spanSeconds(v);
  if (seconds === null) throw new AppError('bad_request', spanRule(field), { field });
  return seconds;
}

/** An ISO-8601 date or date-time → the canonical ISO string; null if it is not one. */
function instant(v: string): string | null {
  const ms = /^\d{4}-\d{2}-\d{2}/.test(v.trim()) ? Date.parse(v.trim()) : NaN;
  return Number.isFinite(ms) ? new Date(ms).toISOString() : null;
}

const instantRule = (field: string) => `${field} must be an ISO-8601 date or date-time, e.g. 2026-01-31T12:00:00Z`;
const FLAG_TEXTS = ['', 'true', '1', 'false', '0'];
const PERIOD_STARTS = ['from', 'last', 'period', 'all'] as const;

type PeriodText = Partial<Record<'from' | 'to' | 'last' | 'period' | 'all' | 'tier', string>>;

/** The first rule a usage query breaks, in the order they were always judged. */
function periodProblem(q: PeriodText): Problem {
  if (q.all !== undefined && !FLAG_TEXTS.includes(q.all)) return { field: 'all', message: 'all must be true or false' };
  const given = PERIOD_STARTS.filter((k) => q[k] !== undefined && q[k] !== '' && (k !== 'all' || isOn(q.all)));
  if (given.length > 1) return { field: given[1]!, message: `Give only one of from, last, period and all (got ${given.join(' and ')})` };
  if (q.to && instant(q.to) === null) return { field: 'to', message: instantRule('to') };
  if (q.tier && !(USAGE_TIERS as readonly string[]).includes(q.tier)) return { field: 'tier', message: `tier must be one of ${USAGE_TIERS.join(', ')}` };
  if (q.from) return instant(q.from) === null ? { field: 'from', message: instantRule('from') } : null;
  const span = q.last ? 'last' : q.period ? 'period' : null;
  return span && spanSeconds(q[span]!) === null ? { field: span, message: spanRule(span) } : null;
}

/** Adds the problem `judge` finds (if any) as the issue of its field. */
const refuse = <Q>(judge: (q: Q) => Problem) => (q: Q, ctx: z.RefinementCtx) => {
  const p = judge(q);
  if (p) ctx.addIssue({ code: 'custom', message: p.message, path: [p.field] });
};

/**
 * GET /workspace/usage and /workspace/:id/usage…: `from`/`to` (ISO), `last` or `period` (a
 * duration back from `to`), `all=true` (everything recorded) and `tier` (minute|hour|day). At most
 * one of from, last, period and all. Whether `from` is before `to` is judged by `parseUsagePeriod`
 * (it needs the time of the request).
 */
export const usagePeriodQuerySchema = z.object({
  from: z.string().optional().describe('ISO-8601 instant; at most one of from, last, period and all'),
  to: z.string().optional().describe('ISO-8601 instant, default now'),
  last: z.string().optional().describe('Duration back from to, e.g. 30m, 24h, 7d'),
  period: z.string().optional().describe('Duration back from to (the CLI\'s name for last)'),
  all: z.string().optional().meta({ enum: FLAG_TEXTS }).describe('true for everything recorded'),
  tier: z.string().optional().meta({ enum: ['', ...USAGE_TIERS] }).describe('minute | hour | day (default: chosen by the span)'),
}).superRefine(refuse(periodProblem));

const PERIOD_CODES: FieldCodes = { from: 'bad_request', to: 'bad_request', last: 'bad_request', period: 'bad_request', all: 'bad_request', tier: 'bad_request' };

/** The period a usage query asks for; with none of from, last, period and all, `dflt` applies. `to` defaults to now. */
export function parseUsagePeriod(q: Record<string, string | undefined>, dflt: DefaultPeriod, now: number): UsagePeriodQuery {
  const b = parseWith(usagePeriodQuerySchema, q, PERIOD_CODES);
  const to = (b.to && instant(b.to)) || new Date(now).toISOString();
  const back = (seconds: number) => new Date(Date.parse(to) - seconds * 1000).toISOString();
  const span = b.last || b.period;
  const from = b.from ? instant(b.from)! : span ? back(spanSeconds(span)!) : isOn(b.all) || dflt === 'all' ? null : back(dflt.lastSeconds);
  if (from !== null && from >= to) throw new AppError('bad_request', 'from must be before to', { field: b.from ? 'from' : 'to' });
  return { from, to, tier: (b.tier || null) as UsageTier | null };
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

const ACTIVITY_CODES: FieldCodes = { limit: 'bad_request', type: 'bad_request', before: 'bad_request', workspace_id: 'bad_request' };

/** GET /workspace/activity: `limit` (1–500, default 50), `type?`, `before?` (`act_<n>` or `<n>`), `workspace_id?`; judged in this order. */
export const activityQuerySchema = z.object({
  limit: wholeNumber('limit', 1, 500, 50),
  type: oneOfText('type', ACTIVITY_TYPES).describe('Event type'),
  before: matchingText(/^(?:act_)?\d{1,15}$/, 'before must be an activity id such as act_42').describe('Cursor: next_before of the previous page'),
  workspace_id: matchingText(/^[A-Za-z0-9_-]{1,128}$/, 'workspace_id is not a workspace id').describe('One workspace\'s entries'),
});

export function parseActivityQuery(q: Record<string, string | undefined>): ActivityQuery {
  const b = parseWith(activityQuerySchema, q, ACTIVITY_CODES);
  const out: ActivityQuery = { limit: numberOr(b.limit, 50) };
  if (b.type) out.type = b.type;
  if (b.before) out.before = Number(b.before.replace(/^act_/, ''));
  if (b.workspace_id) out.workspaceId = b.workspace_id;
  return out;
}

export interface EstimateQuery {
  cpus: number;
  memoryMb: number;
  diskMb: number;
}

/** Each amount's name (it names a refusal) and its alias; the name wins when both are given. */
const AMOUNTS = [['cpu', 'cpus'], ['ram_mb', 'memory_mb'], ['disk_mb', 'disk_size_mb']] as const;
type EstimateText = Partial<Record<(typeof AMOUNTS)[number][number], string>>;

function amountProblem(q: EstimateText): Problem {
  for (const [name, alias] of AMOUNTS) {
    const v = q[name] ?? q[alias];
    if (v !== undefined && v !== '' && !(Number.isFinite(Number(v)) && Number(v) >= 0)) return { field: name, message: `${name} must be a non-negative number` };
  }
  return null;
}

const amount = (what: string) => z.string().optional().describe(`${what}, a non-negative number`);

/** GET /workspace/estimate: `cpu` (or `cpus`), `ram_mb` (or `memory_mb`), `disk_mb` (or `disk_size_mb`); a bad one is 422 `validation_error`. */
export const estimateQuerySchema = z.object({
  cpu: amount('vCPUs, default 1'), cpus: amount('Alias of cpu'),
  ram_mb: amount('Memory in MB, default 512'), memory_mb: amount('Alias of ram_mb'),
  disk_mb: amount('Disk in MB, default 512'), disk_size_mb: amount('Alias of disk_mb'),
  tier: z.string().optional().describe('Accepted and not used'),
}).superRefine(refuse(amountProblem));

export function parseEstimateQuery(q: Record<string, string | undefined>): EstimateQuery {
  const b = parseWith(estimateQuerySchema, q);
  return { cpus: numberOr(b.cpu ?? b.cpus, 1), memoryMb: numberOr(b.ram_mb ?? b.memory_mb, 512), diskMb: numberOr(b.disk_mb ?? b.disk_size_mb, 512) };
}
