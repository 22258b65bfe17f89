/**
 * The backend conformance suite against the fleet backend: a FleetBackend (the control
 * replica's side) → the node API, mounted on a real node relay listening on loopback →
 * the node's Orchestrator over the memory driver. The node is registered in a SQLite
 * store with the relay's address and the sandbox subnet; a second node is registered at
 * an address where nothing listens (a daemon that died before the registry noticed).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer } from 'node:net';
import { AppError } from '../contract/errors.js';
import { localBackend } from '../../test/support/local-backend.js';
import { poolReady, runBackendContract, type BackendWorld } from '../domain/backend-contract-suite.js';
import { NodeRegistry } from '../domain/nodes.js';
import { nodeApiHandler } from '../node/node-api.js';
import { generateNodeKey, NodeTokenSigner, NodeTokenVerifier, type NodeKey } from '../node/node-tokens.js';
import { sampleWorkspace } from '../store/contract-fixtures.js';
import { RelayServer } from '../node/relay-server.js';
import type { WorkspaceRecord } from '../store/store.js';
import { FleetBackend, NODE_CAPABILITIES } from './fleet-backend.js';

const NODE_ID = 'node-1';
const ROOM = { cpus: 8, memory_mb: 8192, disk_mb: 100_000, workspaces: 6 };

const bodyOf = (record: WorkspaceRecord) => JSON.stringify({ record });
/** The body hash of a node API token's target, written out here (not nodeApiTarget) so the wire form is pinned. */
const digest = (body: string) => createHash('sha256').update(body).digest('base64url');

/** A loopback port nothing listens on (bound once, then released). */
async function deadPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** A node on loopback and a replica's FleetBackend; `keyOfReplica`: the replica signs with another key. */
async function fleetWorld(o: { keyOfReplica?: NodeKey } = {}): Promise<BackendWorld & { backend: FleetBackend }> {
  const node = await localBackend({ nodeId: NODE_ID, warmPool: 1 });
  const key = generateNodeKey('k1');
  const verifier = new NodeTokenVerifier([key]);
  const relay = new RelayServer({
    nodeId: NODE_ID, verifier, subnet: node.subnet, isLiveSandbox: () => true,
    onRequest: nodeApiHandler({ nodeId: NODE_ID, verifier, backend: node.backend }),
  });
  const port = await relay.listen(0, '127.0.0.1');
  const clock = { ms: Date.now() };
  const registry = new NodeRegistry({ store: node.store, now: () => new Date(clock.ms) });
  const capacity = { cpus: ROOM.cpus, memory_mb: ROOM.memory_mb, disk_mb: ROOM.disk_mb, max_workspaces: ROOM.workspaces };
  const registration = { name: 'n', capacity, labels: {}, version: '0.1.0' };
  const self = { id: NODE_ID, address: `127.0.0.1:${port}`, subnet: node.subnet, ...registration };
  await registry.register(self);
  const silentNodeId = 'node-silent';
  await registry.register({ id: silentNodeId, address: `127.0.0.1:${await deadPort()}`, subnet: '10.250.0.0/24', ...registration });
  await registry.drain(silentNodeId); // registered and not lost, but takes no placements
  const signer = new NodeTokenSigner(o.keyOfReplica ?? key, 'replica-test');
  const backend = new FleetBackend({ registry, signer, capabilities: NODE_CAPABILITIES });
  const post = async (op: string, token: string | null, record: WorkspaceRecord) => {
    const res = await fetch(`http://127.0.0.1:${port}/v1/node/workspaces/${op}`, {
      method: 'POST', body: bodyOf(record),
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Warren-Node ${token}` } : {}) },
    });
    const body = await res.json() as { error?: { code: string } };
    return { status: res.status, code: body.error?.code ?? null };
  };
  const forger = new NodeTokenSigner(generateNodeKey('k1'), 'replica-test');
  return {
    backend, expectedNode: NODE_ID, inSubnet: node.inSubnet, readAgentToken: node.readAgentToken,
    expectedVia: { relayHost: '127.0.0.1', relayPort: port, nodeId: NODE_ID },
    nodeRoom: ROOM,
    silentNodeId,
    warmPool: { ready: () => poolReady(node.backend), creates: node.creates },
    async loseNode() { // silent past lost-after; the leader's sweep runs
      clock.ms += registry.settings.lostAfterMs + 1;
      await registry.heartbeat(silentNodeId);
      if (!(await registry.sweepLost()).includes(NODE_ID)) throw new Error('the node was not swept');
    },
    async returnNode() {
      if (!(await registry.register(self)).readopted) throw new Error('the node was not re-adopted');
    },
    nodeApi: {
      nodeId: NODE_ID, post,
      sign: (c) => (c.forged ? forger : signer).sign(c.nodeId, `api:${c.op}:${c.workspaceId}:${digest(bodyOf(c.record))}`, c.purpose),
    },
    async close() {
      await relay.close();
      await node.close();
    },
  };
}

runBackendContract('fleet (FleetBackend → node API → Orchestrator, memory driver)', { world: () => fleetWorld() });

test('fleet: a replica whose key the node does not know gets server_error (a caller is not unauthorized)', async (t) => {
  const w = await fleetWorld({ keyOfReplica: generateNodeKey('k1') });
  t.after(() => w.close());
  const rec = sampleWorkspace({ nodeId: NODE_ID, ip: await w.backend.allocateAddress(NODE_ID, new Set()) });
  const err = await w.backend.inspect(rec).then(() => null, (e: unknown) => e);
  assert.ok(err instanceof AppError && err.code === 'server_error' && /cluster key/.test(err.message), String(err));
});

test('fleet: no host of its own, no pool, no layers (snapshots over the node API are later work)', async (t) => {
  const w = await fleetWorld();
  t.after(() => w.close());
  const b = w.backend;
  assert.deepEqual([b.kind, b.pool, b.layers, b.localNodeId, b.busy], ['fleet', null, null, null, false]);
  assert.deepEqual(b.capabilities, { pause: true, snapshot: false, isolation: true });
  assert.equal(b.owns({ nodeId: NODE_ID }), false);
  assert.deepEqual([await b.workspacesOnHost(), await b.residue()], [new Set(), []]);
  assert.throws(() => b.requireLayers(), (e: unknown) => e instanceof AppError && e.code === 'not_implemented' && e.details?.field === 'driver');
  await assert.rejects(b.allocateAddress(null, new Set()), (e: unknown) => e instanceof AppError && e.code === 'server_error');
  assert.equal(await b.via({ id: 'ws_local', nodeId: null }), undefined, 'a single-host workspace is reached directly');
});
