/**
 * Namespace quotas (control-plane.md §21 "Namespace quotas", `/credits/*`): bodies and
 * queries in camelCase, parsed into typed commands. Amounts are credits of the operator's
 * price table. Services: `workspace_vm` and `sandbox` — Warren has one kind of workspace,
 * so both meter the same credits of the namespace's workspaces (a namespace may hold a
 * quota under either name, or both). The only level is "namespace". Numbers may arrive as
 * strings (query strings); every refusal is 422 validation_error naming its field.
 */
import { AppError } from './errors.js';
import type { OverdraftAction } from '../store/quota-records.js';

export const QUOTA_SERVICES = ['workspace_vm', 'sandbox'] as const;
export type QuotaService = (typeof QUOTA_SERVICES)[number];
export const OVERDRAFT_ACTIONS = ['block', 'stop_workspaces'] as const;
/** Used when a quota's `notificationThresholds` is null (spec: null = defaults). */
export const DEFAULT_THRESHOLDS: readonly number[] = [80, 95];
/** Bounds amounts so sums stay exact enough in REAL columns. */
const MAX_CREDITS = 1e12;

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

export function parseService(v: unknown): QuotaService {
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

/** POST /credits/namespace-quota. Absent optional fields keep the quota's current values (new quota: 0, block, defaults). */
export interface SetQuotaCommand {
  namespace: string;
  service: QuotaService;
  quotaLimit: number;
  overdraft?: number;
  onOverdraftAction?: OverdraftAction;
  notificationThresholds?: number[] | null;
  enabled?: boolean;
}

export function parseSetQuota(body: unknown): SetQuotaCommand {
  const o = object(body);
  const cmd: SetQuotaCommand = { namespace: parseNamespaceRef(o.namespace), service: parseService(o.service), quotaLimit: credits(o.quotaLimit, 'quotaLimit') };
  if (o.overdraft !== undefined) cmd.overdraft = credits(o.overdraft, 'overdraft');
  if (o.onOverdraftAction !== undefined) cmd.onOverdraftAction = parseAction(o.onOverdraftAction);
  if (o.notificationThresholds !== undefined) cmd.notificationThresholds = parseThresholds(o.notificationThresholds);
  if (o.enabled !== undefined) cmd.enabled = flag(o.enabled, 'enabled');
  return cmd;
}

/** POST /credits/reset-quota. */
export function parseQuotaKey(body: unknown): { namespace: string; service: QuotaService } {
  const o = object(body);
  return { namespace: parseNamespaceRef(o.namespace), service: parseService(o.service) };
}

/** POST /credits/defaults. */
export interface SetDefaultQuotaCommand {
  service: QuotaService;
  quotaLimit: number;
  overdraft?: number;
  onOverdraftAction?: OverdraftAction;
  autoApply?: boolean;
  enabled?: boolean;
}

export function parseSetDefaultQuota(body: unknown): SetDefaultQuotaCommand {
  const o = object(body);
  parseLevel(o.level);
  const cmd: SetDefaultQuotaCommand = { service: parseService(o.service), quotaLimit: credits(o.quotaLimit, 'quotaLimit') };
  if (o.overdraft !== undefined) cmd.overdraft = credits(o.overdraft, 'overdraft');
  if (o.onOverdraftAction !== undefined) cmd.onOverdraftAction = parseAction(o.onOverdraftAction);
  if (o.autoApply !== undefined) cmd.autoApply = flag(o.autoApply, 'autoApply');
  if (o.enabled !== undefined) cmd.enabled = flag(o.enabled, 'enabled');
  return cmd;
}

/** GET /credits/defaults (query) and DELETE /credits/defaults (body): `{ level, service }`. */
export function parseDefaultKey(o: Record<string, unknown>): QuotaService {
  parseLevel(o.level);
  return parseService(o.service);
}

/** GET /credits/defaults/all: `level` must be "namespace" (absent means it too). */
export function parseDefaultLevel(q: Record<string, string | undefined>): 'namespace' {
  return parseLevel(q.level ?? 'namespace');
}

/** POST /credits/defaults/toggle-auto-apply. */
export function parseToggleAutoApply(body: unknown): { service: QuotaService; autoApply: boolean } {
  const o = object(body);
  parseLevel(o.level);
  return { service: parseService(o.service), autoApply: flag(o.autoApply, 'autoApply') };
}
