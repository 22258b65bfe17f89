import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '../contract/errors.js';
import { DEFAULT_LIMITS } from '../contract/workspace.js';
import { sampleWorkspace } from '../store/contract-fixtures.js';
import { checkReservation, checkResizeFits, checkStartFits, quotaFor, type QuotaPolicy } from './quota.js';
import { parseQuotaFile } from '../config/quota-file.js';

const big = { cpus: 1000, memory_mb: 1_000_000, disk_mb: 1_000_000 };
const policy = (over: Partial<QuotaPolicy> = {}): QuotaPolicy => ({
  plan: 'p', planLabel: 'P', limits: DEFAULT_LIMITS, pool: big, runningPool: big, maxSandboxes: 100, ...over,
});
const ws = (namespace: string | null, memory_mb = 256, state: 'running' | 'stopped' = 'running') => {
  const w = sampleWorkspace({ namespace, state });
  return { ...w, config: { ...w.config, cpus: 1, memory_mb, disk_size_mb: 512 } };
};
const code = (c: string) => (e: unknown) => e instanceof AppError && e.code === c;

test('a reservation of several counts each against the next, all or none', () => {
  const p = policy({ pool: { ...big, memory_mb: 1024 } });
  checkReservation(p, [], [ws(null), ws(null), ws(null), ws(null)]);
  assert.throws(() => checkReservation(p, [], [ws(null), ws(null), ws(null), ws(null), ws(null)]), code('POOL_LIMIT_REACHED'));
  assert.throws(() => checkReservation(policy({ maxSandboxes: 2 }), [ws(null)], [ws(null), ws(null)]), code('SANDBOX_LIMIT_REACHED'));
});

test('namespace pools from the quota file apply to their namespace only', () => {
  const p = policy({ namespaces: { 'team-a': { maxSandboxes: 2, pool: { memory_mb: 600 } } }, namespaceDefault: { runningPool: { cpus: 1 } } });
  const all = [ws('team-a'), ws('team-b')];
  checkReservation(p, all, [ws('team-a')]);
  assert.throws(() => checkReservation(p, all, [ws('team-a', 512)]), code('POOL_LIMIT_REACHED'));
  assert.throws(() => checkReservation(p, [...all, ws('team-a', 128)], [ws('team-a', 128)]), code('SANDBOX_LIMIT_REACHED'));
  assert.throws(() => checkReservation(p, all, [ws('team-b')]), code('RUNNING_POOL_REACHED'), 'the default applies to unnamed namespaces');
  checkReservation(p, all, [ws(null), ws(null)]);
  const stopped = ws('team-b', 256, 'stopped');
  assert.throws(() => checkStartFits(p, [...all, stopped], stopped), code('RUNNING_POOL_REACHED'));
});

test('plan limits bound each workspace (403 RESOURCE_NOT_ALLOWED) on create and resize', () => {
  const p = policy({ limits: { ...DEFAULT_LIMITS, memory_mb: { min: 128, max: 1024, default: 512 } } });
  assert.throws(() => checkReservation(p, [], [ws(null, 2048)]), (e: unknown) => code('RESOURCE_NOT_ALLOWED')(e) && (e as AppError).details?.field === 'memory_mb');
  assert.throws(() => checkResizeFits(p, [], ws(null, 2048)), code('RESOURCE_NOT_ALLOWED'));
});

test('GET /workspace/quota for a namespace shows its own counts and pools', () => {
  const p = policy({ namespaces: { 'team-a': { maxSandboxes: 2 } } });
  const v = quotaFor(p, [ws('team-a'), ws('team-b'), ws('team-b')], 'team-a');
  assert.equal(v.currentSandboxes, 1);
  assert.equal(v.maxSandboxes, 2);
  assert.equal(v.canCreate, true);
  assert.deepEqual(v.pool, { cpus: null, memory_mb: null, disk_mb: null }, 'unlimited at this level');
  assert.equal(quotaFor(p, [ws('team-a'), ws('team-b')], null).currentSandboxes, 2);
});

test('the quota file is checked field by field', () => {
  const f = parseQuotaFile({ max_workspaces: 5, namespaces: { 'team-a': { max_workspaces: 2, pool: { memory_mb: 1024 } } }, limits: { cpus: { min: 1, max: 4, default: 1 } } });
  assert.equal(f.maxSandboxes, 5);
  assert.deepEqual(f.namespaces?.['team-a'], { maxSandboxes: 2, pool: { memory_mb: 1024 }, runningPool: undefined });
  assert.throws(() => parseQuotaFile({ pool: { cpus: -1 } }), /pool\.cpus/);
  assert.throws(() => parseQuotaFile({ limits: { cpus: { min: 4, max: 1, default: 2 } } }), /limits\.cpus/);
  assert.throws(() => parseQuotaFile([]), /top level/);
});
