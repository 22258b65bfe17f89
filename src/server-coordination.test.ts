import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WarrenConfig } from './config/config.js';
import { NODE_ID } from './contract/nodes.js';
import { replicaIdFor } from './server-coordination.js';

const cfgFor = (dataDir: string, databaseUrl?: string) => ({ dataDir, instanceId: 'ab12', databaseUrl }) as unknown as WarrenConfig;

test('a server on a shared database has a random identity kept in its data dir; a single host keeps its instance id', (t) => {
  const [one, two] = [mkdtempSync(join(tmpdir(), 'warren-rid-')), mkdtempSync(join(tmpdir(), 'warren-rid-'))];
  t.after(() => { rmSync(one, { recursive: true, force: true }); rmSync(two, { recursive: true, force: true }); });
  const url = 'postgres://warren@127.0.0.1:1/w';
  assert.equal(replicaIdFor(cfgFor(one)), 'ab12');
  const id = replicaIdFor(cfgFor(one, url));
  assert.match(id, NODE_ID);
  assert.match(id, /^n[0-9a-f]{16}$/);
  assert.equal(replicaIdFor(cfgFor(one, url)), id, 'kept across starts');
  // Two hosts with the same data dir path have the same instanceId; their identities differ all the same.
  assert.notEqual(replicaIdFor(cfgFor(two, url)), id);
  assert.equal(statSync(join(one, 'node-id')).mode & 0o777, 0o600);
});

test('a node daemon named with --node-id uses that name; without it, the kept random one', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'warren-rid-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const url = 'postgres://warren@127.0.0.1:1/w';
  const node = (nodeId: string | null) => ({ ...cfgFor(dir, url), role: 'node', node: { nodeId } }) as unknown as WarrenConfig;
  assert.equal(replicaIdFor(node('node-a')), 'node-a');
  assert.equal(replicaIdFor(node(null)), replicaIdFor(cfgFor(dir, url)));
  // A control replica or serve ignores a node id (it is not a node).
  assert.equal(replicaIdFor({ ...node('node-a'), role: 'control' } as WarrenConfig), replicaIdFor(cfgFor(dir, url)));
});
