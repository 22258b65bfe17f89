/**
 * Lifecycle bodies (control-plane.md §3): TTL, mode changes, ping, the idle policy and
 * destroy. Shape and type only; the operator's minimums are the domain's.
 */
import { AppError } from './errors.js';
import { parseDuration } from './duration.js';
import { parseVersion } from './layers.js';

/** TTL expiry actions (seed: stop, remove; SDK: pause, suspend too). */
export const TTL_ACTIONS = ['stop', 'pause', 'suspend', 'remove'] as const;
export type TtlAction = (typeof TTL_ACTIONS)[number];

/** `{ suspend_after, stop_after }` in seconds; suspend_after 0 = no idle policy. */
export interface IdlePolicy {
  suspend_after: number;
  stop_after: number;
}

function bad(field: string, message: string): never {
  throw new AppError('validation_error', message, { field });
}

/** A duration field (seconds or "30m"); undefined when absent. */
export function durationField(body: Record<string, unknown>, field: string): number | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  const secs = parseDuration(v);
  if (secs === null) bad(field, `${field} must be seconds or a duration like "30m", "1h"`);
  return secs;
}

export function ttlActionField(body: Record<string, unknown>): TtlAction | undefined {
  const v = body.ttl_action;
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || !(TTL_ACTIONS as readonly string[]).includes(v)) {
    bad('ttl_action', `ttl_action must be one of ${TTL_ACTIONS.join(', ')}`);
  }
  return v as TtlAction;
}

/** PUT /lifecycle/idle and `config.idle`: `{ suspend_after, stop_after? }`; null or 0 disables. */
export function parseIdle(value: unknown, field = 'idle'): IdlePolicy | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'object' || Array.isArray(value)) bad(field, `${field} must be an object with suspend_after`);
  const b = value as Record<string, unknown>;
  const prefix = field === 'idle' ? '' : `${field}.`;
  if (b.suspend_after === undefined) bad(`${prefix}suspend_after`, 'suspend_after is required (0 disables)');
  const suspend = durationField(b, 'suspend_after') ?? 0;
  const stop = durationField(b, 'stop_after') ?? 0;
  if (suspend === 0) return null;
  return { suspend_after: suspend, stop_after: stop };
}

/** DELETE /workspace/:id/lifecycle: `?archive=true|<version>` or a body `{ archive }` asks for a final archive. */
export function parseDestroy(query: Record<string, string>, body: Record<string, unknown>): { archive: string | true | null } {
  const v = body.archive ?? query.archive;
  if (v === undefined || v === null || v === false || v === 'false' || v === '0' || v === '') return { archive: null };
  if (v === true || v === 'true' || v === '1') return { archive: true };
  return { archive: parseVersion(v, 'archive') };
}
