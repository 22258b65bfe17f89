/**
 * The lifecycle bodies became zod schemas (`lifecycle.ts`); this holds each route's parse to
 * what the route did before with the hand-written helpers (copied below), over a corpus of
 * valid and faulty bodies: the same change for a valid one, the same code and `details.field`
 * for a faulty one. `config.idle` keeps its own parser; it is held to its old self here too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from './errors.js';
import { parseDuration } from './duration.js';
import { parseVersion } from './layers.js';
import {
  RESTART_POLICIES, TTL_ACTIONS, parseDestroy, parseIdle, parseIdleBody, parsePermanent, parsePing, parseTemporary, parseTtlChange,
  type IdlePolicy, type TtlAction,
} from './lifecycle.js';
import { outcome, same } from '../../test/support/parser-equivalence.js';

// ---- the hand-written helpers as they were (src/contract/lifecycle.ts before the zod schemas) ----

function bad(field: string, message: string): never {
  throw new AppError('validation_error', message, { field });
}

/** A duration field (seconds or "30m"); undefined when absent. */
function durationField(body: Record<string, unknown>, field: string): number | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  const secs = parseDuration(v);
  if (secs === null) bad(field, `${field} must be seconds or a duration like "30m", "1h"`);
  return secs;
}

function ttlActionField(body: Record<string, unknown>): TtlAction | undefined {
  const v = body.ttl_action;
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || !(TTL_ACTIONS as readonly string[]).includes(v)) {
    bad('ttl_action', `ttl_action must be one of ${TTL_ACTIONS.join(', ')}`);
  }
  return v as TtlAction;
}

/** PUT /lifecycle/idle and `config.idle`: `{ suspend_after, stop_after? }`; null or 0 disables. */
function legacyParseIdle(value: unknown, field = 'idle'): IdlePolicy | null {
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
function legacyParseDestroy(query: Record<string, string>, body: Record<string, unknown>): { archive: string | true | null } {
  const v = body.archive ?? query.archive;
  if (v === undefined || v === null || v === false || v === 'false' || v === '0' || v === '') return { archive: null };
  if (v === true || v === 'true' || v === '1') return { archive: true };
  return { archive: parseVersion(v, 'archive') };
}

/** The control plane's `readObject` (the routes read the body with it before parsing). */
function readObject(b: unknown): Record<string, unknown> {
  if (!b || typeof b !== 'object' || Array.isArray(b)) throw new AppError('validation_error', 'Request body must be a JSON object', { field: 'body' });
  return b as Record<string, unknown>;
}

/** What each route did with the body before (remove_on_exit was checked by the domain's applyLifecycleChange, with this code and field). */
const legacyRoute = {
  ttl: (b: unknown) => { const o = readObject(b); return { ttl: durationField(o, 'ttl'), ttl_action: ttlActionField(o) }; },
  temporary: (b: unknown) => {
    const o = readObject(b);
    const ch = { ttl: durationField(o, 'ttl'), ttl_action: ttlActionField(o), remove_on_exit: o.remove_on_exit as boolean | undefined };
    if (ch.remove_on_exit !== undefined && typeof ch.remove_on_exit !== 'boolean') {
      throw new AppError('validation_error', 'remove_on_exit must be a boolean', { field: 'remove_on_exit' });
    }
    return ch;
  },
  ping: (b: unknown) => ({ ttl: durationField(readObject(b), 'ttl_seconds') }),
  idle: (b: unknown) => legacyParseIdle(readObject(b)),
};

// ---- the comparison ----


const NOT_OBJECTS = [null, undefined, [], 'text', 7, true];
const DURATIONS = [0, 30, 90.7, -1, '45', ' 60 ', '30s', '15m', '1h', '7d', '2w', '1.5h', '', ' ', 'abc', '-5', true, [], {}, null];

test('PUT /lifecycle/ttl: same change, or same code and field, as before', () => {
  same('ttl', [
    ...NOT_OBJECTS, {}, ...DURATIONS.map((ttl) => ({ ttl })), ...[...TTL_ACTIONS, 'delete', '', null, 3, 'STOP'].map((ttl_action) => ({ ttl_action })),
    { ttl: '1h', ttl_action: 'remove' }, { ttl: 'x', ttl_action: 'x' }, { ttl: 5, ttl_action: 'x' }, { ttl: null, ttl_action: null }, { other: 1 },
  ], legacyRoute.ttl, parseTtlChange);
});

test('POST /lifecycle/temporary: same change, or same code and field, as before', () => {
  same('temporary', [
    ...NOT_OBJECTS, {}, ...DURATIONS.map((ttl) => ({ ttl, remove_on_exit: true })), { ttl_action: 'suspend' }, { ttl_action: 'nope' },
    { remove_on_exit: false }, { remove_on_exit: 'true' }, { remove_on_exit: null }, { remove_on_exit: 1 },
    { ttl: 'x', remove_on_exit: 'x' }, { ttl_action: 'x', remove_on_exit: 'x' }, { ttl: '2h', ttl_action: 'pause', remove_on_exit: true, idle: 'ignored' },
  ], legacyRoute.temporary, parseTemporary);
});

test('POST /ping: same renewal, or same code and field, as before', () => {
  same('ping', [...NOT_OBJECTS, {}, ...DURATIONS.map((ttl_seconds) => ({ ttl_seconds })), { ttl: 'ignored' }], legacyRoute.ping, parsePing);
});

test('PUT /lifecycle/idle: same policy, or same code and field, as before', () => {
  same('idle', [
    ...NOT_OBJECTS, {}, ...DURATIONS.map((suspend_after) => ({ suspend_after })), ...DURATIONS.map((stop_after) => ({ suspend_after: '15m', stop_after })),
    { stop_after: '1h' }, { suspend_after: 0, stop_after: 'x' }, { suspend_after: 'x', stop_after: 'x' }, { idle: { suspend_after: 60 } },
    { suspend_after: undefined, stop_after: 1 },
  ], legacyRoute.idle, parseIdleBody);
});

test('config.idle keeps its parser: same policy, or same code and field, as before', () => {
  const values = [undefined, null, 7, 'x', [], {}, { suspend_after: 60 }, { suspend_after: '5x' }, { suspend_after: 60, stop_after: 'y' },
    { stop_after: 60 }, { suspend_after: 0 }, { suspend_after: null, stop_after: 'bad' }, ...DURATIONS.map((suspend_after) => ({ suspend_after, stop_after: '1d' }))];
  same('config.idle', values, (v) => legacyParseIdle(v, 'config.idle'), (v) => parseIdle(v, 'config.idle'));
  same('idle', values, (v) => legacyParseIdle(v), (v) => parseIdle(v));
});

test('DELETE /lifecycle: same archive request from the body or the query, or same code and field', () => {
  const archives: unknown[] = [undefined, null, true, false, 'true', 'false', '1', '0', '', 'final', 'v1.2_x-3', '../x', ' v1', 'a'.repeat(64),
    'a'.repeat(65), '-x', 1, 0, [], {}, 'TRUE'];
  const cases: Array<[Record<string, string>, unknown]> = [];
  for (const a of archives) cases.push([{}, a === undefined ? {} : { archive: a }]);
  for (const a of archives) if (typeof a === 'string') cases.push([{ archive: a }, {}], [{ archive: a }, { archive: null }], [{ archive: a }, { archive: 'kept' }]);
  cases.push([{ archive: '../x' }, { archive: false }], [{ archive: '../x' }, { archive: 5 }], [{ other: 'x' }, { other: 1 }]);
  same('destroy', cases, (c) => {
    const [q, b] = c as [Record<string, string>, Record<string, unknown>];
    return legacyParseDestroy(q, b);
  }, (c) => {
    const [q, b] = c as [Record<string, string>, Record<string, unknown>];
    return parseDestroy(q, b);
  });
});

test('POST /lifecycle/permanent: same restart policy, or same code and field (config.restart_policy), as parseConfig in the domain', () => {
  // Before: the route passed `body.restart_policy` on and the domain's applyLifecycleChange judged it with parseConfig's enum check.
  const legacy = (b: unknown) => {
    const v = readObject(b).restart_policy;
    if (v !== undefined && (typeof v !== 'string' || !(RESTART_POLICIES as readonly string[]).includes(v))) {
      throw new AppError('INVALID_CONFIG', 'config.restart_policy must be one of no, always, on-failure', { field: 'config.restart_policy' });
    }
    return { restart_policy: v };
  };
  same('permanent', [...NOT_OBJECTS, {}, { other: 1 }, ...[...RESTART_POLICIES, 'never', '', 'ALWAYS', null, 0, true, [], {}, ['no']].map((restart_policy) => ({ restart_policy })),
    { restart_policy: 'no', ttl: 5 }, { mode: 'temporary' }, { restart_policy: 'on-failure', extra: 'x' }], legacy, parsePermanent);
});
