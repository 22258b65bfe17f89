import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkNodeOptions, DEFAULT_MAX_WORKSPACES, DEFAULT_RELAY_PORT, loadNodeOptions, parseHostPort, parseRole } from './node.js';
import type { Flags } from './load.js';

const pick = (flags: Flags, flag: string) => (typeof flags[flag] === 'string' ? (flags[flag] as string) : undefined);

test('roles: serve is all; node and control are named; anything else is refused', () => {
  assert.equal(parseRole(undefined), 'all');
  assert.equal(parseRole('node'), 'node');
  assert.equal(parseRole('control'), 'control');
  assert.throws(() => parseRole('leader'), /all, node or control/);
});

test('node options: defaults from the API host and the host itself; flags as given', () => {
  const d = loadNodeOptions({}, pick, '127.0.0.1');
  assert.equal(d.relayHost, '127.0.0.1');
  assert.equal(d.relayPort, DEFAULT_RELAY_PORT);
  assert.equal(d.advertise, null);
  assert.equal(d.nodeId, null);
  assert.deepEqual(d.capacity, { cpus: null, memoryMb: null, diskMb: null, maxWorkspaces: DEFAULT_MAX_WORKSPACES });
  const o = loadNodeOptions({
    'relay-host': '0.0.0.0', 'relay-port': '7500', advertise: 'node-1.internal:7500', 'node-id': 'node-1',
    'capacity-cpus': '16', 'capacity-memory-mb': '65536', 'capacity-disk-mb': '500000', 'max-workspaces': '40', labels: 'zone=a,rack=r1',
  }, pick, '127.0.0.1');
  assert.deepEqual(
    [o.relayHost, o.relayPort, o.advertise, o.nodeId, o.capacity, o.labels],
    ['0.0.0.0', 7500, 'node-1.internal:7500', 'node-1', { cpus: 16, memoryMb: 65_536, diskMb: 500_000, maxWorkspaces: 40 }, { zone: 'a', rack: 'r1' }],
  );
});

test('node options: bad values fail start-up with the flag named', () => {
  const bad = (flags: Flags, re: RegExp) => assert.throws(() => loadNodeOptions(flags, pick, '127.0.0.1'), re);
  bad({ 'relay-port': '70000' }, /--relay-port/);
  bad({ advertise: 'no-port' }, /--advertise/);
  bad({ advertise: 'h:0' }, /--advertise/);
  bad({ 'node-id': '-dash-first' }, /--node-id/);
  bad({ 'capacity-cpus': '0' }, /--capacity-cpus/);
  bad({ 'max-workspaces': 'many' }, /--max-workspaces/);
  bad({ labels: 'novalue' }, /--labels/);
  // A relay on every address needs the address replicas dial (checked for `warren node` only: serve --host 0.0.0.0 is fine).
  const everywhere = loadNodeOptions({ 'relay-host': '0.0.0.0' }, pick, '127.0.0.1');
  assert.throws(() => checkNodeOptions(everywhere), /--advertise/);
  checkNodeOptions({ ...everywhere, advertise: 'node-1.internal:7443' });
});

test('host:port, IPv6 in brackets', () => {
  assert.deepEqual(parseHostPort('10.0.0.5:7443', 'x'), { host: '10.0.0.5', port: 7443 });
  assert.deepEqual(parseHostPort('[fd00::5]:7443', 'x'), { host: 'fd00::5', port: 7443 });
});
