/**
 * fast-check generators for hostile requests: path parameters, query strings, headers and
 * bodies — first "valid-ish" values drawn from a route's JSON Schema, then mutated (wrong types,
 * missing and extra fields, nulls, deep nesting, huge strings, numbers at the edges, invalid
 * JSON, empty bodies, content-type lies).
 */
import fc from 'fast-check';
import type { JsonSchema } from './document.js';

/** Strings a hostile caller tries where an id, name or path goes. */
export const junkString = fc.oneof(
  fc.constantFrom('', ' ', '..', '../..', '../../etc/passwd', '%2e%2e%2f', '%00', 'null', 'undefined', '0', '-1',
    'ws_0000000000000000', '__proto__', 'constructor', '*', '?', '#', '%', '%ZZ', '\\', '/', '//', 'a b', '\u0000',
    '😀', 'é', '\u202e', 'ä'.repeat(300), 'A'.repeat(5000), '<script>', "' OR 1=1 --", '${jndi:x}', 'true', '1e309'),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
);

/** Numbers at the edges. */
export const edgeNumber = fc.oneof(
  fc.constantFrom(0, -0, -1, 1, 0.5, -0.5, 2 ** 31, 2 ** 31 - 1, -(2 ** 31), 2 ** 32, 2 ** 53, -(2 ** 53),
    Number.MAX_SAFE_INTEGER + 2, 1e308, -1e308, 5e-324),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

/** Any JSON value, shallow. */
export const anyJson: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null), fc.boolean(), edgeNumber, junkString,
  fc.array(fc.oneof(fc.integer(), fc.string({ maxLength: 8 })), { maxLength: 4 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.oneof(fc.integer(), fc.string({ maxLength: 8 })), { maxKeys: 4 }),
);

/** Field names routes commonly read: drawn on when the document gives no schema. */
const COMMON_FIELDS = ['image', 'name', 'namespace', 'memory_mb', 'cpus', 'disk_mb', 'ttl', 'ttl_action', 'mode',
  'restart_policy', 'scope', 'workspaceId', 'label', 'port', 'slug', 'domain', 'cmd', 'env', 'path', 'version',
  'archive', 'egress', 'ingress', 'allow', 'deny', 'public_access', 'config', 'metadata', 'idle', 'timeout',
  'wait_ready', 'revokeExisting', 'amount', 'limit', 'overdraft', 'dockerfile', 'context', 'key', 'public_key',
  'ttl_seconds', 'remove_on_exit', 'targetId', 'source', 'tags', 'replicas', 'enabled', 'keep'];

/** A value following `schema` where it is simple enough to follow; anything JSON otherwise. */
export function fromSchema(schema: JsonSchema, depth = 0): fc.Arbitrary<unknown> {
  const s = schema as any;
  if (depth > 4) return anyJson;
  if (Array.isArray(s.enum) && s.enum.length) return fc.constantFrom(...s.enum);
  if ('const' in s) return fc.constant(s.const);
  const alts = s.anyOf ?? s.oneOf;
  if (Array.isArray(alts) && alts.length) return fc.oneof(...alts.map((a: JsonSchema) => fromSchema(a, depth + 1)));
  const type = Array.isArray(s.type) ? s.type[0] : s.type;
  switch (type) {
    case 'string': return fc.oneof(fc.string({ minLength: s.minLength ?? 0, maxLength: Math.min(s.maxLength ?? 24, 64) }), junkString);
    case 'integer': return fc.oneof(fc.integer({ min: s.minimum ?? -1000, max: s.maximum ?? 100_000 }), edgeNumber);
    case 'number': return fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true, min: s.minimum, max: s.maximum }), edgeNumber);
    case 'boolean': return fc.boolean();
    case 'null': return fc.constant(null);
    case 'array': return fc.array(fromSchema(s.items ?? {}, depth + 1), { maxLength: 4 });
    case 'object': return objectFromSchema(s, depth);
    default:
      if (s.properties) return objectFromSchema(s, depth);
      return anyJson;
  }
}

function objectFromSchema(s: any, depth: number): fc.Arbitrary<unknown> {
  const props: Record<string, JsonSchema> = s.properties ?? {};
  const keys = Object.keys(props);
  if (keys.length === 0) {
    return fc.dictionary(fc.constantFrom(...COMMON_FIELDS), anyJson, { maxKeys: 4 });
  }
  const record: Record<string, fc.Arbitrary<unknown>> = {};
  for (const k of keys) record[k] = fromSchema(props[k]!, depth + 1);
  return fc.record(record, { requiredKeys: (s.required ?? []).filter((k: string) => keys.includes(k)) });
}

/** JSON text already made (deep nesting is written as text: JSON.stringify would overflow the stack). */
class RawJson {
  constructor(readonly text: string) {}
}

/** `v` wrapped in `n` levels of arrays or objects, as JSON text. */
function nest(v: unknown, n: number, asArray: boolean): RawJson {
  const inner = JSON.stringify(v) ?? 'null';
  return new RawJson(asArray ? '['.repeat(n) + inner + ']'.repeat(n) : '{"a":'.repeat(n) + inner + '}'.repeat(n));
}

/** Mutations of a valid-ish object. */
function mutateObject(base: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  return fc.tuple(base, fc.nat(7), junkString, anyJson, fc.integer({ min: 1, max: 5000 }), fc.boolean()).map(
    ([obj, op, key, value, depth, flag]) => {
      const o: Record<string, unknown> = obj && typeof obj === 'object' && !Array.isArray(obj) ? { ...(obj as object) } : {};
      const keys = Object.keys(o);
      const pick = keys[depth % Math.max(keys.length, 1)];
      switch (op) {
        case 0: if (pick) o[pick] = value; return o; // wrong type
        case 1: if (pick) delete o[pick]; return o; // missing field
        case 2: o[key] = value; return o; // extra field
        case 3: if (pick) o[pick] = null; return o;
        case 4: return nest(o, depth, flag); // deep nesting
        case 5: if (pick) o[pick] = 'x'.repeat(depth * 200); return o; // huge string
        case 6: return Array.isArray(obj) ? obj : [o];
        default: return value; // a scalar where an object goes
      }
    });
}

export interface Body {
  /** Raw bytes to send (undefined: no body). */
  raw?: string;
  /** The content type to claim (undefined: none). */
  contentType?: string;
}

/** Bodies for a route: valid-ish, mutated, and raw junk. */
export function bodyArb(schema: JsonSchema): fc.Arbitrary<Body> {
  const valid = fromSchema(Object.keys(schema).length ? schema : { type: 'object' });
  const json = (v: unknown) => (v instanceof RawJson ? v.text : JSON.stringify(v) ?? 'null');
  const ct = fc.oneof(
    { weight: 6, arbitrary: fc.constant('application/json') },
    { weight: 1, arbitrary: fc.constantFrom(undefined, 'text/plain', 'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x', 'application/json; charset=latin1', 'application/octet-stream', '', ';;;') },
  );
  return fc.oneof(
    { weight: 4, arbitrary: fc.tuple(valid, ct).map(([v, c]) => ({ raw: json(v), contentType: c })) },
    { weight: 4, arbitrary: fc.tuple(mutateObject(valid), ct).map(([v, c]) => ({ raw: json(v), contentType: c })) },
    { weight: 1, arbitrary: fc.constant({}) }, // no body at all
    { weight: 1, arbitrary: fc.constantFrom<Body>(
      { raw: '', contentType: 'application/json' }, { raw: '{', contentType: 'application/json' },
      { raw: '{"a":', contentType: 'application/json' }, { raw: 'null', contentType: 'application/json' },
      { raw: '[]', contentType: 'application/json' }, { raw: '"x"', contentType: 'application/json' },
      { raw: '{"__proto__":{"admin":true}}', contentType: 'application/json' },
      { raw: '{"a":1,"a":2}', contentType: 'application/json' },
      { raw: '\ufeff{}', contentType: 'application/json' },
      { raw: '[' .repeat(10_000), contentType: 'application/json' },
      { raw: `{"x":"${'y'.repeat(1_100_000)}"}`, contentType: 'application/json' }, // past the 1 MiB cap
      { raw: '\u0000\u0001\u0002', contentType: 'application/json' },
    ) },
    { weight: 1, arbitrary: fc.tuple(junkString, ct).map(([s, c]) => ({ raw: s, contentType: c })) },
  );
}

/** Query strings: the document's parameters plus junk ones. */
export function queryArb(names: string[]): fc.Arbitrary<string> {
  const all = [...new Set([...names, 'limit', 'offset', 'archive', 'since', 'until', 'tail', 'page', 'namespace', 'q', 'token'])];
  return fc.array(fc.tuple(fc.constantFrom(...all), fc.oneof(junkString, edgeNumber.map(String))), { maxLength: 3 })
    .map((pairs) => (pairs.length ? '?' + pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&') : ''));
}

/** Extra headers: content-length lies are left to the transport; these are the ones a client may set. */
export const extraHeaders = fc.oneof(
  { weight: 5, arbitrary: fc.constant({} as Record<string, string>) },
  { weight: 1, arbitrary: fc.constantFrom<Record<string, string>>(
    { 'x-request-id': 'x'.repeat(2000) }, { 'x-request-id': '\t' }, { accept: 'text/html' },
    { 'x-forwarded-for': '1.2.3.4' }, { 'content-encoding': 'gzip' },
    { host: 'evil.example' }, { authorization: 'Basic Zm9vOmJhcg==' }, { cookie: 'a=b' },
  ) },
);

/**
 * Percent-encodes a path parameter byte by byte (lone surrogates become U+FFFD, as UTF-8 does).
 * `literal` leaves `/` and `.` as they are, as a hostile client would, to try traversal.
 */
export function encodeParam(raw: string, literal: boolean): string {
  const keep = literal ? /[A-Za-z0-9\-_.~/!$&'()*+,;=:@]/ : /[A-Za-z0-9\-_.~]/;
  let out = '';
  for (const byte of Buffer.from(raw, 'utf8')) {
    const ch = String.fromCharCode(byte);
    out += byte < 0x80 && keep.test(ch) ? ch : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}
