/**
 * POST /workspace and PUT /workspace/:id are parsed by their zod schemas; each refusal keeps
 * the seed code and field it had as a hand-written parser (seed 004; clients match on them).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCreateWorkspace, parseUpdateWorkspace } from './commands.js';
import { AppError } from './errors.js';

function refusal(fn: () => unknown): [string, unknown] {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof AppError);
    return [e.code, e.details?.field];
  }
  assert.fail('expected a refusal');
}

test('create: the seed codes, field by field, in the order the fields are judged', () => {
  const create = (b: unknown) => refusal(() => parseCreateWorkspace(b));
  assert.deepEqual(create([]), ['validation_error', 'body']);
  assert.deepEqual(create({}), ['INVALID_IMAGE', 'image']);
  assert.deepEqual(create({ image: '  ', name: 5 }), ['INVALID_IMAGE', 'image']);
  assert.deepEqual(create({ image: 'x', name: 5 }), ['INVALID_NAME_LENGTH', 'name']);
  assert.deepEqual(create({ image: 'x', name: 'a'.repeat(256) }), ['INVALID_NAME_LENGTH', 'name']);
  assert.deepEqual(create({ image: 'x', namespace: 'a b' }), ['INVALID_NAMESPACE', 'namespace']);
  assert.deepEqual(create({ image: 'x', config: [] }), ['INVALID_CONFIG', 'config']);
  assert.deepEqual(create({ image: 'x', slug: 'ws_abc' }), ['validation_error', 'slug']);
  assert.deepEqual(create({ image: 'x', mode: 'q' }), ['validation_error', 'mode']);
  assert.deepEqual(create({ image: 'x', idempotency_key: '' }), ['validation_error', 'idempotency_key']);
});

test('create: aliases folded, blanks are absent', () => {
  assert.deepEqual(parseCreateWorkspace({ image: ' debian-12 ', slug: '', namespace: '', cpus: 2, config: { memory_mb: 1 }, idempotencyKey: 'k' }), {
    image: 'debian-12', name: null, slug: null, namespace: null, mode: 'permanent',
    rawConfig: { memory_mb: 1, cpus: 2 }, idempotencyKey: 'k',
  });
});

test('update: a field that cannot be updated is refused by its name before anything else', () => {
  assert.deepEqual(refusal(() => parseUpdateWorkspace({ bogus: 1, name: 5 })), ['validation_error', 'bogus']);
  assert.deepEqual(refusal(() => parseUpdateWorkspace({ name: null })), ['INVALID_NAME_LENGTH', 'name']);
  assert.deepEqual(refusal(() => parseUpdateWorkspace({ config: 'x' })), ['INVALID_CONFIG', 'config']);
  assert.deepEqual(parseUpdateWorkspace({ slug: '', logo: 1, ram_mb: 5 }), { slug: null, rawConfig: { memory_mb: 5 } });
});
