import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from './errors.js';
import { parseActivityQuery, parseEstimateQuery, parseSpan, parseUsagePeriod } from './usage.js';

const NOW = Date.parse('2026-05-10T12:00:00.000Z');
const DAY = { lastSeconds: 86_400 };

function rejects(fn: () => unknown, field: string, code = 'bad_request') {
  assert.throws(fn, (err: unknown) => err instanceof AppError && err.code === code && err.details?.field === field && err.status < 500);
}

test('periods: last / period count back from to; from/to are ISO; all is everything; a default applies', () => {
  assert.deepEqual(parseUsagePeriod({}, DAY, NOW), { from: '2026-05-09T12:00:00.000Z', to: '2026-05-10T12:00:00.000Z', tier: null });
  assert.equal(parseUsagePeriod({ last: '30m' }, DAY, NOW).from, '2026-05-10T11:30:00.000Z');
  assert.equal(parseUsagePeriod({ period: '7d' }, DAY, NOW).from, '2026-05-03T12:00:00.000Z');
  assert.equal(parseUsagePeriod({ period: '2w', to: '2026-05-15' }, DAY, NOW).from, '2026-05-01T00:00:00.000Z');
  assert.deepEqual(parseUsagePeriod({ from: '2026-05-01', to: '2026-05-02T00:00:00Z', tier: 'minute' }, DAY, NOW),
    { from: '2026-05-01T00:00:00.000Z', to: '2026-05-02T00:00:00.000Z', tier: 'minute' });
  assert.equal(parseUsagePeriod({ all: 'true' }, DAY, NOW).from, null);
  assert.equal(parseUsagePeriod({ all: 'false' }, 'all', NOW).from, null);
  assert.equal(parseUsagePeriod({ all: 'false' }, DAY, NOW).from, '2026-05-09T12:00:00.000Z');
});

test('periods: malformed or conflicting input is 400 naming the field', () => {
  rejects(() => parseUsagePeriod({ last: 'yesterday' }, DAY, NOW), 'last');
  rejects(() => parseUsagePeriod({ period: '0d' }, DAY, NOW), 'period');
  rejects(() => parseUsagePeriod({ from: 'last tuesday' }, DAY, NOW), 'from');
  rejects(() => parseUsagePeriod({ from: '2026-13-45' }, DAY, NOW), 'from');
  rejects(() => parseUsagePeriod({ to: 'soon' }, DAY, NOW), 'to');
  rejects(() => parseUsagePeriod({ tier: 'week' }, DAY, NOW), 'tier');
  rejects(() => parseUsagePeriod({ all: 'maybe' }, DAY, NOW), 'all');
  rejects(() => parseUsagePeriod({ from: '2026-05-01', last: '1h' }, DAY, NOW), 'last');
  rejects(() => parseUsagePeriod({ from: '2026-05-11' }, DAY, NOW), 'from');
  assert.equal(parseSpan('90', 'last'), 90);
});

test('activity query: limit 1–500 (default 50), type from the list, before as act_<n> or <n>', () => {
  assert.deepEqual(parseActivityQuery({}), { limit: 50 });
  assert.deepEqual(parseActivityQuery({ limit: '500', type: 'restarted', before: 'act_42', workspace_id: 'ws_ab12' }),
    { limit: 500, type: 'restarted', before: 42, workspaceId: 'ws_ab12' });
  assert.equal(parseActivityQuery({ before: '7' }).before, 7);
  rejects(() => parseActivityQuery({ limit: '501' }), 'limit');
  rejects(() => parseActivityQuery({ limit: '0' }), 'limit');
  rejects(() => parseActivityQuery({ type: 'exploded' }), 'type');
  rejects(() => parseActivityQuery({ before: 'act_x' }), 'before');
  rejects(() => parseActivityQuery({ workspace_id: '../etc' }), 'workspace_id');
});

test('estimate query: SDK and CLI names, defaults, and 422 on a bad number', () => {
  assert.deepEqual(parseEstimateQuery({ cpu: '2', ram_mb: '1024', disk_mb: '2048' }), { cpus: 2, memoryMb: 1024, diskMb: 2048 });
  assert.deepEqual(parseEstimateQuery({}), { cpus: 1, memoryMb: 512, diskMb: 512 });
  rejects(() => parseEstimateQuery({ ram_mb: '-1' }), 'ram_mb', 'validation_error');
});
