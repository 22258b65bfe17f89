/**
 * The usage, activity and estimate query parsers became zod schemas (`usage.ts`); this holds
 * them to the hand-written parsers they replaced (copied below as `legacy…`): the same command,
 * or the same code and `details.field`, over corpora of valid and faulty queries.
 */
import { test } from 'node:test';
import { AppError } from './errors.js';
import { ACTIVITY_TYPES, USAGE_TIERS, parseActivityQuery, parseEstimateQuery, parseUsagePeriod, type ActivityQuery, type DefaultPeriod } from './usage.js';
import type { UsageTier } from '../store/store.js';
import { same } from '../../test/support/parser-equivalence.js';

// ---- the hand-written parsers as they were (src/contract/usage.ts before the schemas) ----

const UNITS: Record<string, number> = { s: 1, m: 60, min: 60, h: 3600, d: 86_400, w: 604_800 };
const MAX_SECONDS = 3660 * 86_400;

function bad(field: string, message: string): never {
  throw new AppError('bad_request', message, { field });
}

function parseSpan(v: string, field: string): number {
  const m = /^(\d+)\s*(s|m|min|h|d|w)?$/.exec(v.trim());
  const seconds = m ? Number(m[1]) * UNITS[m[2] ?? 's']! : NaN;
  if (!(seconds > 0 && seconds <= MAX_SECONDS)) bad(field, `${field} must be a duration`);
  return seconds;
}

function parseInstant(v: string, field: string): string {
  const ms = /^\d{4}-\d{2}-\d{2}/.test(v.trim()) ? Date.parse(v.trim()) : NaN;
  if (!Number.isFinite(ms)) bad(field, `${field} must be an ISO-8601 date or date-time`);
  return new Date(ms).toISOString();
}

function parseBool(v: string | undefined, field: string): boolean {
  if (v === undefined || v === '' || v === 'false' || v === '0') return false;
  if (v === 'true' || v === '1') return true;
  return bad(field, `${field} must be true or false`);
}

function legacyParseUsagePeriod(q: Record<string, string | undefined>, dflt: DefaultPeriod, now: number) {
  const given = (['from', 'last', 'period', 'all'] as const).filter((k) => q[k] !== undefined && q[k] !== '' && !(k === 'all' && !parseBool(q.all, 'all')));
  if (given.length > 1) bad(given[1]!, 'Give only one of from, last, period and all');
  const to = q.to ? parseInstant(q.to, 'to') : new Date(now).toISOString();
  let tier: UsageTier | null = null;
  if (q.tier !== undefined && q.tier !== '') {
    if (!(USAGE_TIERS as readonly string[]).includes(q.tier)) bad('tier', 'tier must be one of minute, hour, day');
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

function legacyParseActivityQuery(q: Record<string, string | undefined>): ActivityQuery {
  const out: ActivityQuery = { limit: 50 };
  if (q.limit !== undefined && q.limit !== '') {
    const n = Number(q.limit);
    if (!Number.isInteger(n) || n < 1 || n > 500) bad('limit', 'limit must be an integer between 1 and 500');
    out.limit = n;
  }
  if (q.type) {
    if (!(ACTIVITY_TYPES as readonly string[]).includes(q.type)) bad('type', 'type must be one of the activity types');
    out.type = q.type as ActivityQuery['type'];
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

function legacyParseEstimateQuery(q: Record<string, string | undefined>) {
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

// ---- the comparison ----

type Q = Record<string, string>;
const NOW = Date.parse('2026-05-10T12:00:00.000Z');
const INSTANTS = ['2026-05-01', '2026-05-02T00:00:00Z', '2026-05-11', '2026-05-10T12:00:00.000Z', '2026-13-45', 'last tuesday', ' 2026-05-01 ', '', '2026-05-01T25:00Z'];
const SPANS = ['30m', '24h', '7d', '2w', '90', '0d', '3661d', '1 h', '5min', 'yesterday', '', '-1h', '1.5h'];
const FLAGS = ['true', '1', 'false', '0', '', 'maybe', 'TRUE'];

test('usage period: same period, or same code and field, as the hand-written parser', () => {
  const corpus: Q[] = [{}, { other: 'x' }];
  for (const from of INSTANTS) corpus.push({ from }, { from, to: '2026-05-02T00:00:00Z' });
  for (const to of INSTANTS) corpus.push({ to }, { to, last: '1h' });
  for (const last of SPANS) corpus.push({ last }, { period: last }, { last, to: '2026-05-15' });
  for (const all of FLAGS) corpus.push({ all }, { all, from: '2026-05-01' }, { all, period: 'x' }, { all, last: '1h', tier: 'week' });
  for (const tier of [...USAGE_TIERS, 'week', '', 'Hour']) corpus.push({ tier }, { tier, to: 'soon' }, { tier, from: 'x' });
  corpus.push({ from: '2026-05-01', last: '1h' }, { last: '1h', period: '2h' }, { from: '', last: '', period: '3h' }, { from: 'x', last: 'y', period: 'z', all: 'true' },
    { last: 'bad', period: 'also bad' }, { from: '2026-05-01', last: '' });
  for (const dflt of [{ lastSeconds: 86_400 }, 'all'] as DefaultPeriod[]) {
    same(`usage period (${JSON.stringify(dflt)})`, corpus, (q) => legacyParseUsagePeriod(q as Q, dflt, NOW), (q) => parseUsagePeriod(q as Q, dflt, NOW));
  }
});

test('activity query: same query, or same code and field, as the hand-written parser', () => {
  const corpus: Q[] = [{}, { other: '1' }];
  for (const limit of ['1', '50', '500', '501', '0', '-1', '2.5', '', ' ', ' 7', '1e2', 'abc', '0x10']) corpus.push({ limit });
  for (const type of [...ACTIVITY_TYPES, '', 'exploded', 'Created']) corpus.push({ type });
  for (const before of ['act_42', '7', '007', '', 'act_', 'act_x', 'act_1234567890123456', '123456789012345', '-1', ' 5']) corpus.push({ before });
  for (const workspace_id of ['ws_ab12', '', '../etc', 'a'.repeat(128), 'a'.repeat(129), 'with space']) corpus.push({ workspace_id });
  corpus.push({ limit: '501', type: 'bad' }, { type: 'bad', before: 'bad' }, { before: 'bad', workspace_id: '../' },
    { limit: '500', type: 'restarted', before: 'act_42', workspace_id: 'ws_ab12' });
  same('activity', corpus, (q) => legacyParseActivityQuery(q as Q), (q) => parseActivityQuery(q as Q));
});

test('estimate query: same estimate, or same code and field, as the hand-written parser', () => {
  const corpus: Q[] = [{}, { tier: 'hour' }];
  const values = ['2', '0', '0.5', '-1', '', ' ', 'abc', '1e3', 'Infinity', '-0', '0x10'];
  for (const [name, alias] of [['cpu', 'cpus'], ['ram_mb', 'memory_mb'], ['disk_mb', 'disk_size_mb']]) {
    for (const v of values) corpus.push({ [name!]: v }, { [alias!]: v }, { [name!]: '', [alias!]: v }, { [name!]: '3', [alias!]: v });
  }
  corpus.push({ cpu: 'x', ram_mb: 'y' }, { ram_mb: '-5', disk_mb: 'z' }, { cpus: 'x', disk_size_mb: 'y' }, { cpu: '2', ram_mb: '1024', disk_mb: '2048' });
  same('estimate', corpus, (q) => legacyParseEstimateQuery(q as Q), (q) => parseEstimateQuery(q as Q));
});
