import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isAppError } from '../contract/errors.js';
import { createDriver } from './registry.js';

test('the memory driver is refused outside tests, with field driver', () => {
  assert.throws(() => createDriver('memory', { instanceId: 'ab12' }, {}),
    (err: unknown) => isAppError(err) && err.code === 'validation_error' && err.details?.field === 'driver'
      && /does not isolate/.test(err.message));
  assert.throws(() => createDriver('memory', { instanceId: 'ab12' }, { WARREN_TEST_DRIVERS: '0' }), /does not isolate/);
});

test('with WARREN_TEST_DRIVERS=1 the memory driver is made and says it does not isolate', () => {
  const d = createDriver('memory', { instanceId: 'ab12' }, { WARREN_TEST_DRIVERS: '1' });
  assert.equal(d.name, 'memory');
  assert.equal(d.capabilities.isolation, false);
});

test('an unknown driver is a validation_error naming the available ones', () => {
  assert.throws(() => createDriver('vm', { instanceId: 'ab12' }, { WARREN_TEST_DRIVERS: '1' }),
    (err: unknown) => isAppError(err) && /Unknown driver vm; available: ns/.test(err.message));
});
