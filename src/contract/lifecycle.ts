/**
 * Lifecycle bodies (control-plane.md §3): TTL, mode changes, ping, the idle policy and
 * destroy. Shape and type only; the operator's minimums are the domain's. Each route's zod
 * schema is both its parser (through `parseWith`) and its documented body or query.
 */
import { z } from 'zod';
import { AppError } from './errors.js';
import { parseDuration } from './duration.js';
import { VERSION_PATTERN } from './layers.js';
import { parseWith } from './zod-parse.js';

/** TTL expiry actions (seed: stop, remove; SDK: pause, suspend too). */
export const TTL_ACTIONS = ['stop', 'pause', 'suspend', 'remove'] as const;
export type TtlAction = (typeof TTL_ACTIONS)[number];

/** `{ suspend_after, stop_after }` in seconds; suspend_after 0 = no idle policy. */
export interface IdlePolicy {
  suspend_after: number;
  stop_after: number;
}

const durationRule = (field: string) => `${field} must be seconds or a duration like "30m", "1h"`;

/** Seconds (a number or numeric string) or a duration string ("30s", "15m", "1h", "7d"). */
function duration(field: string, required?: string) {
  const rule = durationRule(field);
  return z.union([z.number(), z.string()], { error: (iss) => (required && iss.input === undefined ? required : rule) })
    .refine((v) => parseDuration(v) !== null, rule)
    .describe('Seconds, or a duration like "30m", "1h", "7d"');
}

/** The seconds of a duration the schema admitted; undefined when absent or null. */
const seconds = (v: number | string | null | undefined): number | undefined => (v === undefined || v === null ? undefined : parseDuration(v)!);

const ttlAction = z.enum(TTL_ACTIONS, { error: `ttl_action must be one of ${TTL_ACTIONS.join(', ')}` }).nullish();

/** PUT /workspace/:id/lifecycle/ttl. null or absent leaves a field as it is. */
export const ttlSchema = z.looseObject({ ttl: duration('ttl').nullish(), ttl_action: ttlAction });

/** POST /workspace/:id/lifecycle/temporary: the TTL fields and `remove_on_exit`. */
export const temporarySchema = z.looseObject({
  ttl: duration('ttl').nullish(),
  ttl_action: ttlAction,
  remove_on_exit: z.boolean({ error: 'remove_on_exit must be a boolean' }).optional(),
});

/** POST /workspace/:id/ping: `ttl_seconds` renews the TTL with a new length. */
export const pingSchema = z.looseObject({ ttl_seconds: duration('ttl_seconds').nullish() });

/** PUT /workspace/:id/lifecycle/idle: `suspend_after` is required (null or 0 disables). */
export const idleSchema = z.looseObject({
  suspend_after: duration('suspend_after', 'suspend_after is required (0 disables)').nullable(),
  stop_after: duration('stop_after').nullish(),
});

/** Restart policies of a workspace's main process (`config.restart_policy`). */
export const RESTART_POLICIES = ['no', 'always', 'on-failure'] as const;
export type RestartPolicy = (typeof RESTART_POLICIES)[number];

/**
 * POST /workspace/:id/lifecycle/permanent `{ restart_policy? }`. A bad value is refused as the
 * config field it sets, 400 `INVALID_CONFIG` naming `config.restart_policy`, as it was when the
 * domain judged it with `parseConfig`.
 */
export const permanentSchema = z.looseObject({
  restart_policy: z.unknown().optional().meta({ enum: [...RESTART_POLICIES] }),
}).superRefine((b, ctx) => {
  if (b.restart_policy !== undefined && !(RESTART_POLICIES as readonly unknown[]).includes(b.restart_policy)) {
    ctx.addIssue({
      code: 'custom', path: ['config', 'restart_policy'], params: { code: 'INVALID_CONFIG' },
      message: `config.restart_policy must be one of ${RESTART_POLICIES.join(', ')}`,
    });
  }
});

export function parsePermanent(body: unknown): { restart_policy: RestartPolicy | undefined } {
  return { restart_policy: parseWith(permanentSchema, body).restart_policy as RestartPolicy | undefined };
}

export interface TtlChange {
  ttl: number | undefined;
  ttl_action: TtlAction | undefined;
}

export function parseTtlChange(body: unknown): TtlChange {
  const b = parseWith(ttlSchema, body);
  return { ttl: seconds(b.ttl), ttl_action: b.ttl_action ?? undefined };
}

export function parseTemporary(body: unknown): TtlChange & { remove_on_exit: boolean | undefined } {
  const b = parseWith(temporarySchema, body);
  return { ttl: seconds(b.ttl), ttl_action: b.ttl_action ?? undefined, remove_on_exit: b.remove_on_exit };
}

export function parsePing(body: unknown): { ttl: number | undefined } {
  return { ttl: seconds(parseWith(pingSchema, body).ttl_seconds) };
}

/** The route's idle policy; null when it disables idling. */
export function parseIdleBody(body: unknown): IdlePolicy | null {
  const b = parseWith(idleSchema, body);
  const suspend = seconds(b.suspend_after) ?? 0;
  if (suspend === 0) return null;
  return { suspend_after: suspend, stop_after: seconds(b.stop_after) ?? 0 };
}

function bad(field: string, message: string): never {
  throw new AppError('validation_error', message, { field });
}

/**
 * `config.idle` of a create or update body (parsed by `workspace.ts`): `{ suspend_after,
 * stop_after? }`; null or 0 disables. A missing suspend_after names `<field>.suspend_after`;
 * a malformed duration names the bare key, as it always has.
 */
export function parseIdle(value: unknown, field = 'idle'): IdlePolicy | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'object' || Array.isArray(value)) bad(field, `${field} must be an object with suspend_after`);
  const b = value as Record<string, unknown>;
  const prefix = field === 'idle' ? '' : `${field}.`;
  if (b.suspend_after === undefined) bad(`${prefix}suspend_after`, 'suspend_after is required (0 disables)');
  const durationOf = (key: string): number => {
    const v = b[key];
    if (v === undefined || v === null) return 0;
    const secs = parseDuration(v);
    return secs === null ? bad(key, durationRule(key)) : secs;
  };
  const suspend = durationOf('suspend_after');
  const stop = durationOf('stop_after');
  if (suspend === 0) return null;
  return { suspend_after: suspend, stop_after: stop };
}

const NO_ARCHIVE = ['false', '0', ''];
const ARCHIVE_RULE = 'archive must be true, false, or an archive version (1–64 letters, digits, \'.\', \'_\' or \'-\', starting with a letter or digit)';
const archiveText = z.string({ error: ARCHIVE_RULE })
  .refine((v) => NO_ARCHIVE.includes(v) || v === 'true' || v === '1' || VERSION_PATTERN.test(v), ARCHIVE_RULE);

/** DELETE /workspace/:id/lifecycle body: `{ archive }` (it wins over the query's). */
export const destroyBodySchema = z.looseObject({
  archive: z.union([z.boolean(), archiveText], { error: ARCHIVE_RULE }).nullish()
    .describe('true for a final archive under a new version, or the version to give it; false or absent: none'),
});

/** DELETE /workspace/:id/lifecycle query: `?archive=true|<version>`. */
export const destroyQuerySchema = z.object({ archive: archiveText.optional().describe('true, or an archive version to keep') });

/** `{ archive }`: null (no final archive), true (a new version) or the version to give it. */
export function parseDestroy(query: Record<string, string | undefined>, body: unknown): { archive: string | true | null } {
  const fromBody = parseWith(destroyBodySchema, body).archive;
  const v = fromBody ?? parseWith(destroyQuerySchema, query).archive;
  if (v === undefined || v === null || v === false || NO_ARCHIVE.includes(v as string)) return { archive: null };
  if (v === true || v === 'true' || v === '1') return { archive: true };
  return { archive: v };
}
