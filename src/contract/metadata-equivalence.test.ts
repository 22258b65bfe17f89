/**
 * The metadata bodies became zod schemas (`metadata.ts`); this holds the parser to the
 * hand-written one it replaced (copied below as `legacy…`) over a corpus of valid and faulty
 * bodies, for PUT (no nulls) and PATCH alike: the same change, or the same code and `details.field`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from './errors.js';
import { METADATA_LIMITS, parseMetadataBody, type MetadataChange } from './metadata.js';
import { same } from '../../test/support/parser-equivalence.js';

// ---- the hand-written parser as it was (src/contract/metadata.ts before the zod schemas) ----

const KEY = /^[\x21-\x7e]{1,128}$/;

function fail(field: string, message: string): never {
  throw new AppError('validation_error', message, { field });
}

function legacyParseMetadataBody(body: unknown, allowNull: boolean): MetadataChange {
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

// ---- the comparison ----

/** A parsed change and its prototype (a `__proto__` key must not become one). */
const withProto = (value: unknown) => ({ value, proto: Object.getPrototypeOf(value) });

const long = 'k'.repeat(100);
const CORPUS: unknown[] = [
  null, undefined, [], 'text', 7, true, {}, { metadata: {} }, { a: 'b' }, { metadata: { a: 'b' }, ignored: 5 }, { metadata: null },
  { metadata: [] }, { metadata: 'x' }, { metadata: 3 }, { a: 1, b: true, c: false, d: 2.5 }, { a: null }, { metadata: { a: null, b: 'x' } },
  { 'with space': 'x' }, { '': 'x' }, { ['k'.repeat(128)]: 'x' }, { ['k'.repeat(129)]: 'x' }, { [long]: { nested: 1 } }, { [long]: [] },
  { 'é': 'x' }, { a: 'x'.repeat(METADATA_LIMITS.valueBytes) }, { a: 'x'.repeat(METADATA_LIMITS.valueBytes + 1) }, { a: 'é'.repeat(2049) },
  { a: 'ok', 'b c': 'x', d: {} }, { a: {}, 'b c': 'x' }, { metadata: { metadata: 'inner' } }, { a: 'x', metadata: { b: 'y' } },
  { a: undefined }, { 1: 'x', b: 'y', 0: 3 }, { a: '\n\t' }, { 'key=1': 'v', 'x.y': 'z' },
  JSON.parse('{"__proto__":{"a":1},"x":"y"}'), JSON.parse('{"metadata":{"__proto__":"v","x":"y"}}'), JSON.parse('{"__proto__":"v"}'),
];

for (const [label, allowNull] of [['PUT', false], ['PATCH', true]] as const) {
  test(`${label} /workspace/:id/metadata: same change, or same code and field, as the hand-written parser`, () => {
    same(label, CORPUS, (b) => legacyParseMetadataBody(b, allowNull), (b) => parseMetadataBody(b, allowNull), withProto);
  });
}

test('the change keeps its type', () => {
  const change: MetadataChange = parseMetadataBody({ a: 1, b: null }, true);
  assert.deepEqual(change, { a: '1', b: null });
});
