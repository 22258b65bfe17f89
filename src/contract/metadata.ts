/**
 * Workspace metadata (control-plane.md §15): a flat map of string keys to string
 * values. Keys are 1-128 printable ASCII characters without spaces; values are strings
 * (numbers and booleans are stored as their text) of at most 4 KiB; at most 64 keys and
 * 64 KiB in all. PUT replaces the map; PATCH merges and a `null` value removes the key.
 */
import { AppError } from './errors.js';

export const METADATA_LIMITS = { keys: 64, keyChars: 128, valueBytes: 4096, totalBytes: 64 * 1024 };
const KEY = /^[\x21-\x7e]{1,128}$/;

function fail(field: string, message: string): never {
  throw new AppError('validation_error', message, { field });
}

export type MetadataChange = Record<string, string | null>;

/** The body's `metadata` object (or the body itself when it has no `metadata` key). */
export function parseMetadataBody(body: unknown, allowNull: boolean): MetadataChange {
  if (!body || typeof body !== 'object' || Array.isArray(body)) fail('metadata', 'The body must be { "metadata": { key: value } }');
  const raw = 'metadata' in body ? (body as { metadata: unknown }).metadata : body;
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) fail('metadata', 'metadata must be an object of strings');
  const out: MetadataChange = {};
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    const field = `metadata.${k.slice(0, 64)}`;
    if (!KEY.test(k)) fail(field, `Metadata keys must be 1-${METADATA_LIMITS.keyChars} printable characters without spaces`);
    if (v === null && allowNull) {
      out[k] = null;
      continue;
    }
    const text = typeof v === 'number' || typeof v === 'boolean' ? String(v) : v;
    if (typeof text !== 'string') fail(field, 'Metadata values must be strings');
    if (Buffer.byteLength(text) > METADATA_LIMITS.valueBytes) fail(field, `Metadata values are at most ${METADATA_LIMITS.valueBytes} bytes`);
    out[k] = text;
  }
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
