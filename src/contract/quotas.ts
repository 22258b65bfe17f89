/**
 * Namespace quotas (control-plane.md §21 "Namespace quotas", `/credits/*`): bodies and
 * queries in camelCase, parsed into typed commands. Amounts are credits of the operator's
 * price table. Services: `workspace_vm` and `sandbox` — Warren has one kind of workspace,
 * so both meter the same credits of the namespace's workspaces (a namespace may hold a
 * quota under either name, or both). The only level is "namespace". Numbers may arrive as
 * strings (query strings); every refusal is 422 validation_error naming its field. Each body's
 * zod schema is both its parser (through `parseWith`) and its documented body.
 */
import { z } from 'zod';
import { parseWith } from './zod-parse.js';
import type { OverdraftAction } from '../store/quota-records.js';

export const QUOTA_SERVICES = ['workspace_vm', 'sandbox'] as const;
export type QuotaService = (typeof QUOTA_SERVICES)[number];
export const OVERDRAFT_ACTIONS = ['block', 'stop_workspaces'] as const;
/** Used when a quota's `notificationThresholds` is null (spec: null = defaults). */
export const DEFAULT_THRESHOLDS: readonly number[] = [80, 95];
/** Bounds amounts so sums stay exact enough in REAL columns. */
const MAX_CREDITS = 1e12;

/** A number of credits from 0, or its numeric string. */
function credits(field: string) {
  const rule = `${field} must be a number of credits from 0`;
  return z.union([z.number(), z.string()], { error: rule }).refine((v) => {
    const n = typeof v === 'string' ? (v.trim() === '' ? NaN : Number(v)) : v;
    return Number.isFinite(n) && n >= 0 && n <= MAX_CREDITS;
  }, rule);
}

/** true / false, or their text (query strings, CLI flags). */
function flag(field: string) {
  return z.union([z.boolean(), z.enum(['true', 'false'])], { error: `${field} must be true or false` });
}

const serviceField = z.enum(QUOTA_SERVICES, { error: `service must be one of: ${QUOTA_SERVICES.join(', ')}` });
const NAMESPACE_RULE = 'namespace must be a namespace id or slug';
/** An id or slug: not blank, at most 128 characters (surrounding spaces are trimmed after). */
const namespaceField = z.string({ error: NAMESPACE_RULE }).refine((v) => v.trim() !== '' && v.length <= 128, NAMESPACE_RULE);
const actionField = z.enum(OVERDRAFT_ACTIONS, { error: `onOverdraftAction must be one of: ${OVERDRAFT_ACTIONS.join(', ')}` });
const levelField = z.literal('namespace', { error: 'level must be "namespace"' });

const THRESHOLDS_SHAPE = 'notificationThresholds must be null or an array of at most 10 percentages';
const THRESHOLDS_RANGE = 'notificationThresholds must be numbers from 1 to 100';
/**
 * null (the defaults) or up to 10 percentages. Items are judged by the array's refinement, not
 * an item schema, so a bad item names `notificationThresholds` itself, as the wire always has.
 */
const thresholdsField = z.array(z.unknown(), { error: THRESHOLDS_SHAPE }).max(10, THRESHOLDS_SHAPE)
  .refine((a) => a.every((x) => typeof x === 'number' && Number.isFinite(x) && x >= 1 && x <= 100), THRESHOLDS_RANGE)
  .nullable()
  .describe('Percentages from 1 to 100 (null: the defaults, 80 and 95)');

const toNumber = (v: number | string): number => (typeof v === 'string' ? Number(v) : v);
const toFlag = (v: boolean | 'true' | 'false'): boolean => v === true || v === 'true';
/** Sorted, without repeats (items already checked to be numbers). */
const thresholds = (v: unknown[] | null): number[] | null => (v === null ? null : [...new Set(v as number[])].sort((a, b) => a - b));

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

/** The body of POST /credits/namespace-quota; fields are judged in this order. */
export const setQuotaSchema = z.looseObject({
  namespace: namespaceField,
  service: serviceField,
  quotaLimit: credits('quotaLimit'),
  overdraft: credits('overdraft').optional(),
  onOverdraftAction: actionField.optional(),
  notificationThresholds: thresholdsField.optional(),
  enabled: flag('enabled').optional(),
});

export function parseSetQuota(body: unknown): SetQuotaCommand {
  const b = parseWith(setQuotaSchema, body);
  const cmd: SetQuotaCommand = { namespace: b.namespace.trim(), service: b.service, quotaLimit: toNumber(b.quotaLimit) };
  if (b.overdraft !== undefined) cmd.overdraft = toNumber(b.overdraft);
  if (b.onOverdraftAction !== undefined) cmd.onOverdraftAction = b.onOverdraftAction;
  if (b.notificationThresholds !== undefined) cmd.notificationThresholds = thresholds(b.notificationThresholds);
  if (b.enabled !== undefined) cmd.enabled = toFlag(b.enabled);
  return cmd;
}

/** POST /credits/reset-quota. */
export const quotaKeySchema = z.looseObject({ namespace: namespaceField, service: serviceField });

export function parseQuotaKey(body: unknown): { namespace: string; service: QuotaService } {
  const b = parseWith(quotaKeySchema, body);
  return { namespace: b.namespace.trim(), service: b.service };
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

export const setDefaultQuotaSchema = z.looseObject({
  level: levelField,
  service: serviceField,
  quotaLimit: credits('quotaLimit'),
  overdraft: credits('overdraft').optional(),
  onOverdraftAction: actionField.optional(),
  autoApply: flag('autoApply').optional(),
  enabled: flag('enabled').optional(),
});

export function parseSetDefaultQuota(body: unknown): SetDefaultQuotaCommand {
  const b = parseWith(setDefaultQuotaSchema, body);
  const cmd: SetDefaultQuotaCommand = { service: b.service, quotaLimit: toNumber(b.quotaLimit) };
  if (b.overdraft !== undefined) cmd.overdraft = toNumber(b.overdraft);
  if (b.onOverdraftAction !== undefined) cmd.onOverdraftAction = b.onOverdraftAction;
  if (b.autoApply !== undefined) cmd.autoApply = toFlag(b.autoApply);
  if (b.enabled !== undefined) cmd.enabled = toFlag(b.enabled);
  return cmd;
}

/** DELETE /credits/defaults (body): `{ level, service }`, both required. */
export const defaultKeySchema = z.looseObject({ level: levelField, service: serviceField });

export function parseDefaultKey(body: unknown): QuotaService {
  return parseWith(defaultKeySchema, body).service;
}

/** GET /credits/defaults (query): `level` absent means "namespace". */
export const defaultKeyQuerySchema = z.object({
  level: levelField.optional().describe('namespace (the only level; the default)'),
  service: serviceField.describe(QUOTA_SERVICES.join(' | ')),
});

export function parseDefaultKeyQuery(q: Record<string, string | undefined>): QuotaService {
  return parseWith(defaultKeyQuerySchema, q).service;
}

/** GET /credits/defaults/all: `level` must be "namespace" (absent means it too). */
export const defaultLevelQuerySchema = z.object({ level: levelField.optional().describe('namespace (the only level; the default)') });

export function parseDefaultLevel(q: Record<string, string | undefined>): 'namespace' {
  parseWith(defaultLevelQuerySchema, q);
  return 'namespace';
}

/** POST /credits/defaults/toggle-auto-apply. */
export const toggleAutoApplySchema = z.looseObject({ level: levelField, service: serviceField, autoApply: flag('autoApply') });

export function parseToggleAutoApply(body: unknown): { service: QuotaService; autoApply: boolean } {
  const b = parseWith(toggleAutoApplySchema, body);
  return { service: b.service, autoApply: toFlag(b.autoApply) };
}
