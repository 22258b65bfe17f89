/**
 * The public-access bodies are parsed at the edge by their zod schemas (exposeSchema,
 * slugUpdateSchema); the reserved agent port is the domain's check on the typed command.
 * Equivalence: the hand-written parser they replaced is kept below as `legacy…`; over a
 * corpus of valid and invalid bodies, schema + reserved-port check give the same command, or
 * refuse with the same code and `details.field` (clients match on those).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from './errors.js';
import {
  RESERVED_PORTS, SLUG_PATTERN, assertNotReserved, parseExpose, parseSlugUpdate, type ExposeInput,
} from './public-access.js';
import { outcome } from '../../test/support/parser-equivalence.js';

// ---- the hand-written parser as it was (legacy, for the equivalence test only) ----
const MAX_LABEL = 64;
const NON_PRINTABLE = /[\u0000-\u001f\u007f-\u009f]/;

/** A port from a body (number) or a path parameter (decimal string). */
function legacyParsePort(value: unknown, reserved: readonly number[] = RESERVED_PORTS): number {
  const n = typeof value === 'string' && /^\d{1,5}$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 65535) {
    throw new AppError('validation_error', 'port must be an integer between 1 and 65535', { field: 'port' });
  }
  if (reserved.includes(n)) {
    throw new AppError('port_reserved', `Port ${n} is reserved for the workspace agent and cannot be exposed`, {
      field: 'port',
    });
  }
  return n;
}

function legacyParseSlug(value: unknown): string {
  if (typeof value !== 'string' || !SLUG_PATTERN.test(value)) {
    throw new AppError(
      'validation_error',
      'slug must be 1–63 lowercase letters, digits or hyphens, starting and ending with a letter or digit',
      { field: 'slug' },
    );
  }
  return value;
}

function legacyParseLabel(value: unknown): string {
  if (typeof value !== 'string' || value.length > MAX_LABEL || NON_PRINTABLE.test(value)) {
    throw new AppError('validation_error', `label must be a printable string of at most ${MAX_LABEL} characters`, {
      field: 'label',
    });
  }
  return value;
}

/**
 * POST body `{ port, label?, slug?, domain? }`. A custom domain needs proven
 * ownership, which Warren cannot check yet: any domain is refused with
 * `domain_not_verified` rather than silently ignored.
 */
function legacyParseExpose(body: Record<string, unknown>, reserved: readonly number[] = RESERVED_PORTS): ExposeInput {
  if (typeof body.port !== 'number') {
    throw new AppError('validation_error', 'port must be an integer between 1 and 65535', { field: 'port' });
  }
  const port = legacyParsePort(body.port, reserved);
  const out: ExposeInput = { port };
  if (body.label !== undefined && body.label !== null) out.label = legacyParseLabel(body.label);
  if (body.slug !== undefined && body.slug !== null) out.slug = legacyParseSlug(body.slug);
  if (body.domain !== undefined && body.domain !== null) {
    if (typeof body.domain !== 'string') {
      throw new AppError('validation_error', 'domain must be a string', { field: 'domain' });
    }
    throw new AppError('domain_not_verified', 'Custom domains need verified ownership, which this server does not support yet', {
      field: 'domain',
    });
  }
  return out;
}

/** PATCH body `{ slug }`. */
function legacyParseSlugUpdate(body: Record<string, unknown>): string {
  if (body.slug === undefined || body.slug === null) {
    throw new AppError('validation_error', 'slug is required', { field: 'slug' });
  }
  return legacyParseSlug(body.slug);
}
// ---- end of legacy ----


/** What the edge and the domain do together: parse the body, then refuse a reserved port. */
function exposeCommand(body: unknown): ExposeInput {
  const input = parseExpose(body);
  assertNotReserved(input.port, RESERVED_PORTS);
  return input;
}

const EXPOSE: Record<string, unknown>[] = [
  { port: 3000 },
  { port: 3000, label: 'Web', slug: 'my-app' },
  { port: 1, slug: 'a' },
  { port: 65535, slug: 'x'.repeat(63), label: 'x'.repeat(64) },
  { port: 80, label: null, slug: null, domain: null, extra: 1 },
  { port: 9990 },
  { port: 0 },
  { port: 65536 },
  { port: 1.5 },
  { port: '80' },
  { port: null },
  {},
  { port: true },
  { port: 80, label: 5 },
  { port: 80, label: 'x'.repeat(65) },
  { port: 80, label: 'a\nb' },
  { port: 80, label: 'tab\u0085' },
  { port: 80, label: '' },
  { port: 80, slug: 'A' },
  { port: 80, slug: '-ab' },
  { port: 80, slug: 'ab-' },
  { port: 80, slug: 'a_b' },
  { port: 80, slug: 'x'.repeat(64) },
  { port: 80, slug: 'ab' },
  { port: 80, slug: 5 },
  { port: 80, domain: 'example.com' },
  { port: 80, domain: 7 },
  { port: 80, domain: '' },
  { port: 80, label: 7, slug: 'BAD' },
  { port: 80, slug: 'BAD', domain: 'example.com' },
  { port: 'x', slug: 'BAD' },
];

test('POST /workspace/:id/public-access: schema + reserved-port check as the hand-written parser', () => {
  for (const body of EXPOSE) {
    assert.deepEqual(outcome(() => exposeCommand(body)), outcome(() => legacyParseExpose(body)), JSON.stringify(body));
  }
});

test('POST public-access: a reserved port with a second fault now names the body fault first', () => {
  // The reserved ports are the domain's (run time), judged after the body: the one change.
  assert.deepEqual(outcome(() => legacyParseExpose({ port: 9990, slug: 'BAD' })), { code: 'port_reserved', field: 'port' });
  assert.deepEqual(outcome(() => exposeCommand({ port: 9990, slug: 'BAD' })), { code: 'validation_error', field: 'slug' });
});

const SLUG_UPDATES: Record<string, unknown>[] = [
  { slug: 'my-app' }, { slug: 'a' }, { slug: 'ab' }, { slug: 'x'.repeat(63) }, { slug: 'x'.repeat(64) },
  {}, { slug: null }, { slug: 5 }, { slug: '' }, { slug: 'A' }, { slug: '-a' }, { slug: 'a-' }, { slug: 'a b' },
  { slug: 'okay', label: 'ignored' }, { label: 'x' }, { slug: ['a'] }, { slug: {} }, { slug: true },
  { slug: 'a1-b2' }, { slug: '0' }, { slug: 'é' },
];

test('PATCH /workspace/:id/public-access/:port: the schema parses as the hand-written parser did', () => {
  for (const body of SLUG_UPDATES) {
    assert.deepEqual(outcome(() => parseSlugUpdate(body)), outcome(() => legacyParseSlugUpdate(body)), JSON.stringify(body));
  }
  assert.equal(parseSlugUpdate({ slug: 'okay', label: 'ignored' }), 'okay');
});

test('public access: a body that is not an object names the body', () => {
  for (const body of [null, [], 'x']) {
    assert.deepEqual(outcome(() => parseExpose(body)), { code: 'validation_error', field: 'body' });
    assert.deepEqual(outcome(() => parseSlugUpdate(body)), { code: 'validation_error', field: 'body' });
  }
});
