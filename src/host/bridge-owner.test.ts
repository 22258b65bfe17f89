// decideOwnership: who may take a bridge, from facts gathered on the host.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decideOwnership, type OwnerRecord, type OwnershipFacts } from './bridge-owner.js';

const self = { dataDir: '/srv/b', instanceId: 'bbbb', bridge: 'warren0' };

function record(dataDir: string, instanceId: string): OwnerRecord {
  return {
    bridge: 'warren0', subnet: '10.213.0.0/16', dataDir, instanceId, driver: 'ns', pid: 4242,
    startedAt: '2026-12-04T00:00:00.000Z', tables: { inet: `warren_${instanceId}`, bridge: `warren_l2_${instanceId}` },
  };
}

function facts(over: Partial<OwnershipFacts> = {}): OwnershipFacts {
  return { record: null, ownerDataDirExists: false, ownerAlive: false, ownerSandboxes: 0, unrecorded: [], ...over };
}

test('a bridge nobody owns is claimed with a new record', () => {
  assert.deepEqual(decideOwnership(self, facts()), { action: 'claim', takeOver: null, clearUnrecorded: [], ownRecord: false });
});

test('the same data dir restarting is its own owner, whatever its old pid', () => {
  const d = decideOwnership(self, facts({ record: record('/srv/b', 'bbbb'), ownerSandboxes: 3 }));
  assert.deepEqual(d, { action: 'claim', takeOver: null, clearUnrecorded: [], ownRecord: true });
});

test('another data dir that still exists owns the bridge: refused, naming it and both ways out', () => {
  const d = decideOwnership(self, facts({ record: record('/srv/a', 'aaaa'), ownerDataDirExists: true, ownerSandboxes: 2 }));
  assert.equal(d.action, 'refuse');
  const msg = d.action === 'refuse' ? d.message : '';
  assert.match(msg, /owned by the Warren instance with data dir \/srv\/a/);
  assert.match(msg, /--bridge <new-bridge> --subnet <free-cidr>/);
  assert.match(msg, /warren purge --data-dir \/srv\/a --yes/);
  assert.match(msg, /warren_aaaa/);
  assert.match(msg, /not running; 2 sandbox\(es\)/);
});

test('an owner whose data dir is gone but whose server still runs is not taken over', () => {
  const d = decideOwnership(self, facts({ record: record('/srv/a', 'aaaa'), ownerAlive: true }));
  assert.equal(d.action, 'refuse');
  assert.match(d.action === 'refuse' ? d.message : '', /running \(pid 4242\)/);
});

test('an owner whose data dir is gone and whose server is dead is taken over', () => {
  const prev = record('/srv/a', 'aaaa');
  const d = decideOwnership(self, facts({ record: prev, ownerSandboxes: 5 }));
  assert.deepEqual(d, { action: 'claim', takeOver: prev, clearUnrecorded: [], ownRecord: false });
});

test('record-less tables with no sandboxes left are cleared; with sandboxes the start is refused', () => {
  const stale = { instanceId: 'cccc', tables: ['inet warren_cccc', 'bridge warren_l2_cccc'], sandboxes: 0 };
  assert.deepEqual(decideOwnership(self, facts({ unrecorded: [stale] })),
    { action: 'claim', takeOver: null, clearUnrecorded: [stale], ownRecord: false });
  const live = { ...stale, sandboxes: 1 };
  const d = decideOwnership(self, facts({ unrecorded: [live] }));
  assert.equal(d.action, 'refuse');
  const msg = d.action === 'refuse' ? d.message : '';
  assert.match(msg, /no owner record/);
  assert.match(msg, /inet warren_cccc/);
  assert.match(msg, /--bridge <new-bridge>/);
});

test('a live owner is refused before record-less tables are even considered', () => {
  const d = decideOwnership(self, facts({
    record: record('/srv/a', 'aaaa'), ownerDataDirExists: true,
    unrecorded: [{ instanceId: 'cccc', tables: ['inet warren_cccc'], sandboxes: 0 }],
  }));
  assert.equal(d.action, 'refuse');
  assert.match(d.action === 'refuse' ? d.message : '', /\/srv\/a/);
});
