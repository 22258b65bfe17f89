import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '../contract/errors.js';
import { conflictError, findConflicts, type HostAddress, type HostRoute } from './routes.js';

// Recorded from this host (`ip -j -4 route show table all`, `ip -j -4 addr`), plus a Warren bridge.
const ROUTES: HostRoute[] = [
  { dst: 'default', dev: 'eth0' },
  { dst: '192.0.2.0/24', dev: 'eth0', protocol: 'kernel' },
  { dst: '10.213.0.0/16', dev: 'wbr0', protocol: 'kernel' },
  { type: 'local', dst: '127.0.0.0/8', dev: 'lo', table: 'local' },
  { type: 'local', dst: '192.0.2.2', dev: 'eth0', table: 'local' },
  { type: 'broadcast', dst: '192.0.2.255', dev: 'eth0', table: 'local' },
  { type: 'local', dst: '10.213.0.1', dev: 'wbr0', table: 'local' },
];
const ADDRS: HostAddress[] = [
  { ifname: 'lo', local: '127.0.0.1', prefixlen: 8 },
  { ifname: 'eth0', local: '192.0.2.2', prefixlen: 24 },
  { ifname: 'wbr0', local: '10.213.0.1', prefixlen: 16 },
];

test('the own bridge and the default route are not conflicts', () => {
  assert.deepEqual(findConflicts('10.213.0.0/16', 'wbr0', ROUTES, ADDRS), []);
  assert.deepEqual(findConflicts('10.99.0.0/16', 'wbr0', ROUTES, ADDRS), []);
});

test("a subnet over eth0's network conflicts and each claim is named", () => {
  const found = findConflicts('192.0.2.0/24', 'wbr0', ROUTES, ADDRS).map((c) => c.what);
  assert.deepEqual(found, [
    'route 192.0.2.0/24 dev eth0 (table main)',
    'route local 192.0.2.2 dev eth0 (table local)',
    'route broadcast 192.0.2.255 dev eth0 (table local)',
    'address 192.0.2.2/24 on eth0',
  ]);
  // A wider subnet that contains eth0's network conflicts too.
  assert.ok(findConflicts('192.0.0.0/16', 'wbr0', ROUTES, ADDRS).length > 0);
});

test("another bridge's subnet conflicts, even for a Warren-looking name", () => {
  const found = findConflicts('10.213.0.0/16', 'wbr1', ROUTES, ADDRS).map((c) => c.what);
  assert.ok(found.includes('route 10.213.0.0/16 dev wbr0 (table main)'));
  assert.ok(found.includes('address 10.213.0.1/16 on wbr0'));
});

test('device-less routes (blackhole, unreachable) conflict', () => {
  const routes: HostRoute[] = [{ type: 'blackhole', dst: '10.0.0.0/8' }];
  assert.deepEqual(findConflicts('10.213.0.0/16', 'wbr0', routes, []).map((c) => c.what),
    ['route blackhole 10.0.0.0/8 without device (table main)']);
});

test('conflictError carries code, field and the route list', () => {
  const err = conflictError('192.0.2.0/24', 'wbr0', findConflicts('192.0.2.0/24', 'wbr0', ROUTES, ADDRS));
  assert.ok(err instanceof AppError);
  assert.equal(err.code, 'validation_error');
  assert.equal(err.details?.field, 'subnet');
  assert.match(err.message, /192\.0\.2\.0\/24 dev eth0/);
});

test('a malformed subnet is rejected before any comparison', () => {
  assert.throws(() => findConflicts('10.213.0.1/16', 'wbr0', ROUTES, ADDRS), AppError);
});
