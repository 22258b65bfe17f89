import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '../contract/errors.js';
import {
  allocate, broadcastOf, capacityOf, contains, formatIpv4, gatewayOf, isAssignable, overlaps, parseAnyCidr,
  parseIpv4, parseSubnet,
} from './addresses.js';

function assertAppError(fn: () => unknown, code: string, field: string, message?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof AppError, 'expected AppError');
    assert.equal(err.code, code);
    assert.equal(err.details?.field, field);
    if (message) assert.match(err.message, message);
    return true;
  });
}

test('parseIpv4 / formatIpv4 round-trip and reject non-canonical forms', () => {
  assert.equal(formatIpv4(parseIpv4('10.213.0.1')!), '10.213.0.1');
  assert.equal(formatIpv4(parseIpv4('255.255.255.255')!), '255.255.255.255');
  assert.equal(parseIpv4('0.0.0.0'), 0);
  for (const bad of ['10.213.0', '10.213.0.256', '010.0.0.1', '1.2.3.4.5', '', 'a.b.c.d', ' 1.2.3.4', '1..2.3']) {
    assert.equal(parseIpv4(bad), null, bad);
  }
});

test('parseSubnet accepts /8–/28 and reports what is wrong otherwise', () => {
  assert.deepEqual(parseSubnet('10.213.0.0/16'), { network: parseIpv4('10.213.0.0'), prefixLen: 16 });
  assert.equal(parseSubnet('10.0.0.0/8').prefixLen, 8);
  assert.equal(parseSubnet('10.1.2.16/28').prefixLen, 28);
  assertAppError(() => parseSubnet('10.0.0.0/7'), 'validation_error', 'subnet', /between 8 and 28/);
  assertAppError(() => parseSubnet('10.0.0.0/29'), 'validation_error', 'subnet', /between 8 and 28/);
  assertAppError(() => parseSubnet('10.213.0.1/16'), 'validation_error', 'subnet', /did you mean 10\.213\.0\.0\/16/);
  assertAppError(() => parseSubnet('10.213.0.0'), 'validation_error', 'subnet', /CIDR/);
  assertAppError(() => parseSubnet('fd00::/64'), 'validation_error', 'subnet');
  assertAppError(() => parseSubnet('10.300.0.0/16'), 'validation_error', 'subnet', /not an IPv4 address/);
});

test('parseAnyCidr handles kernel route forms', () => {
  assert.deepEqual(parseAnyCidr('192.0.2.2'), { network: parseIpv4('192.0.2.2'), prefixLen: 32 });
  assert.deepEqual(parseAnyCidr('192.0.2.77/24'), { network: parseIpv4('192.0.2.0'), prefixLen: 24 });
  assert.equal(parseAnyCidr('default'), null);
  assert.equal(parseAnyCidr('1.2.3.4/33'), null);
});

test('gateway, broadcast, capacity and membership', () => {
  assert.equal(gatewayOf('10.213.0.0/16'), '10.213.0.1');
  assert.equal(broadcastOf('10.213.0.0/16'), '10.213.255.255');
  assert.equal(capacityOf('10.213.0.0/16'), 65533);
  assert.equal(capacityOf('10.1.2.16/28'), 13);
  assert.ok(contains('10.213.0.0/16', '10.213.255.255'));
  assert.ok(!contains('10.213.0.0/16', '10.214.0.1'));
  assert.ok(!isAssignable('10.213.0.0/16', '10.213.0.0'));
  assert.ok(!isAssignable('10.213.0.0/16', '10.213.0.1'));
  assert.ok(!isAssignable('10.213.0.0/16', '10.213.255.255'));
  assert.ok(isAssignable('10.213.0.0/16', '10.213.0.2'));
  assert.ok(isAssignable('10.213.0.0/16', '10.213.255.254'));
  assert.ok(!isAssignable('10.213.0.0/16', 'nonsense'));
});

test('overlaps is symmetric and containment-based', () => {
  assert.ok(overlaps('10.213.0.0/16', '10.213.7.0/24'));
  assert.ok(overlaps('10.213.7.0/24', '10.213.0.0/16'));
  assert.ok(overlaps('10.0.0.0/8', '10.213.0.5'));
  assert.ok(!overlaps('10.213.0.0/16', '10.214.0.0/16'));
  assert.ok(!overlaps('192.0.2.0/24', '10.213.0.0/16'));
  assert.ok(overlaps('0.0.0.0/0', '192.0.2.0/24'));
  assert.throws(() => overlaps('10.0.0.0/8', 'bogus'), AppError);
});

test('allocate returns the lowest free host address', () => {
  assert.equal(allocate('10.213.0.0/16', new Set()), '10.213.0.2');
  assert.equal(allocate('10.213.0.0/16', new Set(['10.213.0.2', '10.213.0.3', '10.213.0.5'])), '10.213.0.4');
  // Crosses an octet boundary.
  const used = new Set(Array.from({ length: 254 }, (_, i) => `10.213.0.${i + 2}`));
  assert.equal(allocate('10.213.0.0/16', used), '10.213.1.0');
});

test('allocate never hands out network, gateway or broadcast and reports exhaustion', () => {
  const subnet = '10.1.2.16/28';
  const used = new Set<string>();
  for (let i = 0; i < capacityOf(subnet); i++) used.add(allocate(subnet, used));
  assert.equal(used.size, 13);
  assert.ok(!used.has('10.1.2.16') && !used.has('10.1.2.17') && !used.has('10.1.2.31'));
  assert.ok(used.has('10.1.2.18') && used.has('10.1.2.30'));
  assert.throws(() => allocate(subnet, used), (err: unknown) =>
    err instanceof AppError && err.code === 'service_unavailable' && err.details?.reason === 'pool_exhausted' &&
    /exhausted/.test(err.message));
});

test('allocate honours a preferred address or says why not', () => {
  assert.equal(allocate('10.213.0.0/16', new Set(), '10.213.4.9'), '10.213.4.9');
  assertAppError(() => allocate('10.213.0.0/16', new Set(['10.213.4.9']), '10.213.4.9'), 'conflict', 'ip', /in use/);
  assertAppError(() => allocate('10.213.0.0/16', new Set(), '10.213.0.1'), 'validation_error', 'ip', /reserved/);
  assertAppError(() => allocate('10.213.0.0/16', new Set(), '10.9.0.4'), 'validation_error', 'ip');
  assertAppError(() => allocate('10.213.0.1/16', new Set()), 'validation_error', 'subnet');
});

test('allocate is fast on a big pool with many used addresses', () => {
  const used = new Set<string>();
  const started = performance.now();
  for (let i = 0; i < 1000; i++) used.add(allocate('10.0.0.0/8', used));
  assert.equal(used.size, 1000);
  assert.ok(performance.now() - started < 5000);
});
