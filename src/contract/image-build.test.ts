import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from './errors.js';
import { parseBuildEvent, parseBuildOptions } from './image-build.js';

test('build options: build args as an object or NAME=value list, network, no_cache', () => {
  assert.deepEqual(parseBuildOptions({}), { buildArgs: {}, network: 'default', noCache: false });
  assert.deepEqual(parseBuildOptions({ build_args: { A: '1', B_2: '' }, network: 'none', no_cache: 'true' }), {
    buildArgs: { A: '1', B_2: '' },
    network: 'none',
    noCache: true,
  });
  assert.deepEqual(parseBuildOptions({ build_args: ['A=1=2', 'B='] }).buildArgs, { A: '1=2', B: '' });
});

test('bad build options are validation_error naming the field', () => {
  const bad: Array<[Record<string, unknown>, string]> = [
    [{ build_args: { '1A': 'x' } }, 'build_args'],
    [{ build_args: { A: 1 } }, 'build_args'],
    [{ build_args: ['NOEQUALS'] }, 'build_args'],
    [{ build_args: 'A=1' }, 'build_args'],
    [{ network: 'host' }, 'network'],
    [{ no_cache: 'yes' }, 'no_cache'],
  ];
  for (const [body, field] of bad) {
    assert.throws(() => parseBuildOptions(body), (err: unknown) => err instanceof AppError && err.code === 'validation_error' && err.details?.field === field, JSON.stringify(body));
  }
});

test('events are checked against the schema', () => {
  assert.deepEqual(parseBuildEvent({ type: 'log', step: 3, text: 'hi' }), { type: 'log', step: 3, text: 'hi' });
  assert.equal(parseBuildEvent({ type: 'log', step: -1, text: 'hi' }), null);
  assert.equal(parseBuildEvent({ type: 'nope' }), null);
  assert.equal(parseBuildEvent('data'), null);
});
