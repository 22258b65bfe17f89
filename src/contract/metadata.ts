/**
 * Workspace metadata (control-plane.md §15): a flat map of string keys to string
 * values. Keys are 1-128 printable ASCII characters without spaces; values are strings
 * (numbers and booleans are stored as their text) of at most 4 KiB; at most 64 keys and
 * 64 KiB in all. PUT replaces the map; PATCH merges and a `null` value removes the key.
 * Each body's zod schema is both its parser (through `parseWith`) and its documented body.
 */
import { z } from 'zod';
import { AppError } from './errors.js';
import { parseWith } from './zod-parse.js';

export const METADATA_LIMITS = { keys: 64, keyChars: 128, valueBytes: 4096, totalBytes: 64 * 1024 };
const KEY_PATTERN = '^[\\x21-\\x7e]{1,128}$';
const KEY = new RegExp(KEY_PATTERN);

function fail(field: string, message: string): never {
  throw new AppError('validation_error', message, { field });
}

export type MetadataChange = Record<string, string | null>;

/** Why one entry is refused, or null: the key's form, then the value's type and size. */
function entryFault(key: string, value: unknown, allowNull: boolean): string | null {
  if (!KEY.test(key)) return `Metadata keys must be 1-${METADATA_LIMITS.keyChars} printable characters without spaces`;
  if (value === null && allowNull) return null;
  const text = typeof value === 'number' || typeof value === 'boolean' ? String(value) : value;
  if (typeof text !== 'string') return 'Metadata values must be strings';
  if (Buffer.byteLength(text) > METADATA_LIMITS.valueBytes) return `Metadata values are at most ${METADATA_LIMITS.valueBytes} bytes`;
  return null;
}

/**
 * The map of a PUT (`allowNull` false) or PATCH. Entries are judged in order by one refinement,
 * not a value schema, so a fault names `metadata.<first 64 characters of the key>` as the wire
 * always has; `meta` documents what the refinement enforces. The map is the input object itself
 * (a record schema would rebuild it and drop an own `__proto__` key before it was judged).
 */
function metadataMap(allowNull: boolean) {
  const isMap = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
  return z.custom<Record<string, unknown>>(isMap, { error: 'metadata must be an object of strings' })
    .superRefine((map, ctx) => {
      for (const [k, v] of Object.entries(map)) {
        const fault = entryFault(k, v, allowNull);
        if (fault) return ctx.addIssue({ code: 'custom', path: [k.slice(0, 64)], message: fault });
      }
    })
    .meta({
      type: 'object',
      propertyNames: { pattern: KEY_PATTERN },
      additionalProperties: { type: ['string', 'number', 'boolean', ...(allowNull ? ['null'] : [])], maxLength: METADATA_LIMITS.valueBytes },
    });
}

const DESCRIPTION = 'The metadata map, under `metadata` or (with no `metadata` key) as the body itself; numbers and booleans are stored as text';
/** PUT /workspace/:id/metadata: the new map. */
export const metadataPutSchema = z.looseObject({ metadata: metadataMap(false).optional() }).describe(DESCRIPTION);
/** PATCH /workspace/:id/metadata: the keys to set; a null value removes its key. */
export const metadataPatchSchema = z.looseObject({ metadata: metadataMap(true).optional() }).describe(`${DESCRIPTION}; null removes a key`);

/** The body's `metadata` object (or the body itself when it has no `metadata` key). */
export function parseMetadataBody(body: unknown, allowNull: boolean): MetadataChange {
  // A body that is no object names `metadata` (not `body`): the wire's field for this route.
  if (!body || typeof body !== 'object' || Array.isArray(body)) fail('metadata', 'The body must be { "metadata": { key: value } }');
  const wrapped = 'metadata' in body ? body : { metadata: body };
  const { metadata = {} } = parseWith(allowNull ? metadataPatchSchema : metadataPutSchema, wrapped);
  const out: MetadataChange = {};
  for (const [k, v] of Object.entries(metadata)) out[k] = v === null ? null : String(v);
  return out;
}

/** The map after a change, checked against the overall limits. */
export function applyMetadata(current: Record<string, string>, change: MetadataChange, replace: boolean): Record<string, string> {
  const next: Record<string, string> = replace ? {} : { ...current };
  for (const [k, v] of Object.entries(change)) {
    if (v === null) delete next[k];
    else next[k] = v;
  }
  const keys = Object.keys(next);
  if (keys.length > METADATA_LIMITS.keys) fail('metadata', `At most ${METADATA_LIMITS.keys} metadata keys`);
  const total = keys.reduce((n, k) => n + Buffer.byteLength(k) + Buffer.byteLength(next[k]!), 0);
  if (total > METADATA_LIMITS.totalBytes) fail('metadata', `Metadata is at most ${METADATA_LIMITS.totalBytes} bytes in all`);
  return next;
}

/** `{ success, metadata, ...metadata }`: the map, and its keys at the top level too (§15). */
export function metadataView(metadata: Record<string, string>): Record<string, unknown> {
  const top: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(metadata)) if (k !== 'success' && k !== 'metadata') top[k] = v;
  return { ...top, success: true, metadata };
}
