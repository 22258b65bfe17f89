/**
 * The quota parsers became zod schemas (`quotas.ts`); this holds them to the hand-written
 * parsers they replaced (copied below as `legacy…`): over a corpus of valid and faulty bodies,
 * the same command for a valid one and the same code and `details.field` for a faulty one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from './errors.js';
import {
  OVERDRAFT_ACTIONS, QUOTA_SERVICES, parseDefaultKey, parseDefaultKeyQuery, parseDefaultLevel, parseQuotaKey,
  parseSetDefaultQuota, parseSetQuota, parseToggleAutoApply,
  type QuotaService, type SetDefaultQuotaCommand, type SetQuotaCommand,
} from './quotas.js';
import type { OverdraftAction } from '../store/quota-records.js';
import { outcome, same } from '../../test/support/parser-equivalence.js';

const MAX_CREDITS = 1e12;

// ---- the hand-written parsers as they were (src/contract/quotas.ts before the zod schemas) ----

function fail(field: string, message: string): never {
  throw new AppError('validation_error', message, { field });
}

function object(body: unknown): Record<string, unknown> {
  if (!body || typeof body !== 'object' || Array.isArray(body)) fail('body', 'The body must be a JSON object');
  return body as Record<string, unknown>;
}

function credits(v: unknown, field: string): number {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0 || n > MAX_CREDITS) fail(field, `${field} must be a number of credits from 0`);
  return n;
}

function flag(v: unknown, field: string): boolean {
  if (v === true || v === 'true') return true;
  if (v === false || v === 'false') return false;
  return fail(field, `${field} must be true or false`);
}

function parseService(v: unknown): QuotaService {
  if (typeof v !== 'string' || !(QUOTA_SERVICES as readonly string[]).includes(v)) fail('service', `service must be one of: ${QUOTA_SERVICES.join(', ')}`);
  return v as QuotaService;
}

function parseNamespaceRef(v: unknown): string {
  if (typeof v !== 'string' || v.trim() === '' || v.length > 128) fail('namespace', 'namespace must be a namespace id or slug');
  return v.trim();
}

function parseAction(v: unknown): OverdraftAction {
  if (typeof v !== 'string' || !(OVERDRAFT_ACTIONS as readonly string[]).includes(v)) fail('onOverdraftAction', `onOverdraftAction must be one of: ${OVERDRAFT_ACTIONS.join(', ')}`);
  return v as OverdraftAction;
}

function parseThresholds(v: unknown): number[] | null {
  if (v === null) return null;
  if (!Array.isArray(v) || v.length > 10) fail('notificationThresholds', 'notificationThresholds must be null or an array of at most 10 percentages');
  const out = v.map((x) => (typeof x === 'number' && Number.isFinite(x) && x >= 1 && x <= 100 ? x : fail('notificationThresholds', 'notificationThresholds must be numbers from 1 to 100')));
  return [...new Set(out)].sort((a, b) => a - b);
}

function parseLevel(v: unknown): 'namespace' {
  if (v !== 'namespace') fail('level', 'level must be "namespace"');
  return 'namespace';
}

function legacyParseSetQuota(body: unknown): SetQuotaCommand {
  const o = object(body);
  const cmd: SetQuotaCommand = { namespace: parseNamespaceRef(o.namespace), service: parseService(o.service), quotaLimit: credits(o.quotaLimit, 'quotaLimit') };
  if (o.overdraft !== undefined) cmd.overdraft = credits(o.overdraft, 'overdraft');
  if (o.onOverdraftAction !== undefined) cmd.onOverdraftAction = parseAction(o.onOverdraftAction);
  if (o.notificationThresholds !== undefined) cmd.notificationThresholds = parseThresholds(o.notificationThresholds);
  if (o.enabled !== undefined) cmd.enabled = flag(o.enabled, 'enabled');
  return cmd;
}

function legacyParseQuotaKey(body: unknown): { namespace: string; service: QuotaService } {
  const o = object(body);
  return { namespace: parseNamespaceRef(o.namespace), service: parseService(o.service) };
}

function legacyParseSetDefaultQuota(body: unknown): SetDefaultQuotaCommand {
  const o = object(body);
  parseLevel(o.level);
  const cmd: SetDefaultQuotaCommand = { service: parseService(o.service), quotaLimit: credits(o.quotaLimit, 'quotaLimit') };
  if (o.overdraft !== undefined) cmd.overdraft = credits(o.overdraft, 'overdraft');
  if (o.onOverdraftAction !== undefined) cmd.onOverdraftAction = parseAction(o.onOverdraftAction);
  if (o.autoApply !== undefined) cmd.autoApply = flag(o.autoApply, 'autoApply');
  if (o.enabled !== undefined) cmd.enabled = flag(o.enabled, 'enabled');
  return cmd;
}

function legacyParseDefaultKey(o: Record<string, unknown>): QuotaService {
  parseLevel(o.level);
  return parseService(o.service);
}

function legacyParseDefaultLevel(q: Record<string, string | undefined>): 'namespace' {
  return parseLevel(q.level ?? 'namespace');
}

function legacyParseToggleAutoApply(body: unknown): { service: QuotaService; autoApply: boolean } {
  const o = object(body);
  parseLevel(o.level);
  return { service: parseService(o.service), autoApply: flag(o.autoApply, 'autoApply') };
}

// ---- the comparison ----


const NOT_OBJECTS = [null, undefined, [], 'text', 7, true];
const ns = { namespace: 'prod', service: 'workspace_vm' };

test('POST /credits/namespace-quota: same command, or same code and field, as the hand-written parser', () => {
  const q = { ...ns, quotaLimit: 10 };
  same('set-quota', [
    ...NOT_OBJECTS, {}, q, { ...q, namespace: '  prod  ' }, { ...q, namespace: '   ' }, { ...q, namespace: 'x'.repeat(128) },
    { ...q, namespace: 'x'.repeat(129) }, { ...q, namespace: 5 }, { ...q, namespace: null }, { namespace: 'p' }, { quotaLimit: 'x' },
    { ...q, service: 'sandbox' }, { ...q, service: 'gpu' }, { ...q, service: null }, { ...q, quotaLimit: '12.5' }, { ...q, quotaLimit: ' ' },
    { ...q, quotaLimit: '' }, { ...q, quotaLimit: -1 }, { ...q, quotaLimit: 1e12 }, { ...q, quotaLimit: 1e13 }, { ...q, quotaLimit: '1e3' },
    { ...q, quotaLimit: null }, { ...q, quotaLimit: true }, { ...q, quotaLimit: undefined }, { ...q, quotaLimit: 0, overdraft: '5' },
    { ...q, overdraft: null }, { ...q, overdraft: -0.5 }, { ...q, overdraft: 'NaN' }, { ...q, onOverdraftAction: 'block' },
    { ...q, onOverdraftAction: 'stop_workspaces' }, { ...q, onOverdraftAction: 'delete' }, { ...q, onOverdraftAction: null },
    { ...q, notificationThresholds: null }, { ...q, notificationThresholds: [] }, { ...q, notificationThresholds: [95, 80, 95, 50.5] },
    { ...q, notificationThresholds: [0] }, { ...q, notificationThresholds: [101] }, { ...q, notificationThresholds: ['80'] },
    { ...q, notificationThresholds: '80' }, { ...q, notificationThresholds: Array(11).fill(50) }, { ...q, notificationThresholds: Array(10).fill(50) },
    { ...q, notificationThresholds: [50, null] }, { ...q, enabled: true }, { ...q, enabled: 'false' }, { ...q, enabled: 'yes' },
    { ...q, enabled: 1 }, { ...q, enabled: null }, { ...q, extra: 'ignored' },
    { namespace: '', service: 'gpu', quotaLimit: -1, enabled: 'x' }, { ...q, overdraft: -1, onOverdraftAction: 'x', notificationThresholds: 1, enabled: 2 },
    { ...q, onOverdraftAction: 'x', enabled: 2 }, { ...q, notificationThresholds: [0], enabled: 2 },
  ], legacyParseSetQuota, parseSetQuota);
});

test('POST /credits/reset-quota: same key, or same code and field', () => {
  same('reset-quota', [
    ...NOT_OBJECTS, {}, ns, { ...ns, service: 'sandbox' }, { namespace: ' a ', service: 'sandbox' }, { namespace: 'p' }, { service: 'sandbox' },
    { namespace: '', service: 'gpu' }, { namespace: 1, service: 'sandbox' }, { namespace: 'p', service: 'gpu' }, { namespace: 'p', service: null },
    { namespace: 'y'.repeat(129), service: 'sandbox' }, { ...ns, quotaLimit: 'ignored' }, { namespace: '\t', service: 'sandbox' },
    { namespace: 'p', service: 'WORKSPACE_VM' }, { namespace: 'p', service: ['sandbox'] },
  ], legacyParseQuotaKey, parseQuotaKey);
});

test('POST /credits/defaults: same command, or same code and field', () => {
  const d = { level: 'namespace', service: 'sandbox', quotaLimit: 100 };
  same('set-default', [
    ...NOT_OBJECTS, {}, d, { ...d, level: 'org' }, { ...d, level: undefined }, { ...d, level: null }, { service: 'sandbox', quotaLimit: 1 },
    { level: 'namespace', quotaLimit: 1 }, { level: 'namespace', service: 'sandbox' }, { ...d, quotaLimit: '50' }, { ...d, quotaLimit: -5 },
    { ...d, overdraft: 3 }, { ...d, overdraft: 'x' }, { ...d, onOverdraftAction: 'stop_workspaces' }, { ...d, onOverdraftAction: 'nope' },
    { ...d, autoApply: true }, { ...d, autoApply: 'true' }, { ...d, autoApply: 1 }, { ...d, enabled: 'false' }, { ...d, enabled: 'no' },
    { level: 'x', service: 'x', quotaLimit: 'x' }, { ...d, autoApply: 1, enabled: 1 }, { ...d, notificationThresholds: 'ignored' },
  ], legacyParseSetDefaultQuota, parseSetDefaultQuota);
});

test('GET|DELETE /credits/defaults, GET /credits/defaults/all and toggle-auto-apply: same answer, or same code and field', () => {
  const keys = [{}, { level: 'namespace', service: 'sandbox' }, { level: 'namespace', service: 'workspace_vm' }, { level: 'namespace' },
    { service: 'sandbox' }, { level: '', service: 'sandbox' }, { level: 'org', service: 'sandbox' }, { level: 'namespace', service: 'gpu' },
    { level: 'org', service: 'gpu' }, { level: 'namespace', service: '' }, { level: 'Namespace', service: 'sandbox' },
    { level: 'namespace', service: 'sandbox', extra: '1' }];
  // DELETE: the body as read (an object); `level` is required.
  same('delete-default', [...keys, { level: null, service: 'sandbox' }, { level: 'namespace', service: 7 }, { level: 7 },
    { level: 'namespace', service: ['sandbox'] }, { level: ['namespace'], service: 'sandbox' }, { level: 'namespace', service: 'SANDBOX' },
    { level: 'namespace ', service: 'sandbox' }, { level: 'namespace', service: ' sandbox' }],
  (b) => legacyParseDefaultKey(b as Record<string, unknown>), parseDefaultKey);
  // GET: the query; an absent `level` means "namespace".
  const queries = [...keys, { level: 'namespace', service: 'sandbox ' }, { service: 'workspace_vm', level: undefined }, { service: 'x', level: 'y' },
    { service: 'sandbox', last: '1h' }, { level: 'namespace ', service: 'sandbox' }, { service: 'Sandbox' }, { service: 'vm' },
    { level: 'NAMESPACE' }] as Record<string, string | undefined>[];
  same('get-default', queries, (q) => {
    const o = q as Record<string, string | undefined>;
    return legacyParseDefaultKey({ level: o.level ?? 'namespace', service: o.service });
  }, (q) => parseDefaultKeyQuery(q as Record<string, string | undefined>));
  same('get-all-defaults', queries, (q) => legacyParseDefaultLevel(q as Record<string, string | undefined>),
    (q) => parseDefaultLevel(q as Record<string, string | undefined>));
  const t = { level: 'namespace', service: 'sandbox', autoApply: true };
  same('toggle-auto-apply', [...NOT_OBJECTS, {}, t, { ...t, autoApply: false }, { ...t, autoApply: 'false' }, { ...t, autoApply: 'true' },
    { ...t, autoApply: undefined }, { ...t, autoApply: null }, { ...t, autoApply: 0 }, { ...t, level: 'org' }, { ...t, service: 'gpu' },
    { autoApply: 'x' }, { level: 'namespace', autoApply: 'x' }, { ...t, enabled: 'ignored' }, { ...t, autoApply: 'TRUE' }],
  legacyParseToggleAutoApply, parseToggleAutoApply);
});

test('the corpora draw on every service and overdraft action', () => {
  assert.deepEqual([...QUOTA_SERVICES], ['workspace_vm', 'sandbox']);
  assert.deepEqual([...OVERDRAFT_ACTIONS], ['block', 'stop_workspaces']);
});
