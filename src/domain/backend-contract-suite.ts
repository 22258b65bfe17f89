/**
 * The behaviour every WorkspaceBackend (src/domain/backend.ts) must show, as node:test
 * cases run against the local backend (src/domain/backend-local.test.ts: the Orchestrator
 * over the memory driver) and the fleet backend (src/fleet/fleet-backend.test.ts: a
 * FleetBackend → the node API on loopback → an Orchestrator over the memory driver).
 * `runBackendContract(name, harness)`; a harness makes a fresh world per test.
 *
 * Cases that only a fleet has (a node's room, a lost or silent node, the node API's
 * tokens) run when the world offers the hooks for them. The suite is domain code: what
 * needs the host (files, address arithmetic) the world does for it.
 */
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '../contract/errors.js';
import type { NodePurpose } from '../node/node-tokens.js';
import { sampleWorkspace } from '../store/contract-fixtures.js';
import type { WorkspaceRecord } from '../store/store.js';
import type { PoolWant, WorkspaceBackend } from './backend.js';
import type { RelayVia } from './ports.js';
import type { Demand } from './quota.js';

/** The one image a world's images know: its build pins BACKEND_IMAGE_ID. */
export const BACKEND_IMAGE = 'debian-12';
export const BACKEND_IMAGE_ID = `sha256:${'fe'.repeat(32)}`;
/** A name no world's images know: bringUp fails with 404 image_not_found, `details.field` `image`. */
export const BACKEND_MISSING_IMAGE = 'no-such-image';

/** What a node API token is made for (the probe turns it into the token's target). */
export interface NodeApiClaim {
  nodeId: string;
  op: string;
  workspaceId: string;
  /** The record whose `{ record }` body the token is bound to. */
  record: WorkspaceRecord;
  purpose: NodePurpose;
  /** Signed with another key under the same key id. */
  forged?: boolean;
}

/** Raw access to a node API, for the token cases. */
export interface NodeApiProbe {
  nodeId: string;
  /** POSTs `{ record }` to `op` with `token` (null: no Authorization header). */
  post(op: string, token: string | null, record: WorkspaceRecord): Promise<{ status: number; code: string | null }>;
  sign(claim: NodeApiClaim): string;
}

export interface BackendWorld {
  backend: WorkspaceBackend;
  /** What `place` answers for a small workspace. */
  expectedNode: string | null;
  /** Whether `ip` is in the subnet new addresses come from. */
  inSubnet(ip: string): boolean;
  /** The runtime token file the agent of workspace `id` reads, on the host that runs it. */
  readAgentToken(id: string): Promise<string>;
  /** What `via` answers for a placed workspace. */
  expectedVia: RelayVia | undefined;
  /** Fleet: every node's room; `place` refuses a demand past it. */
  nodeRoom?: Demand & { workspaces: number };
  /** Fleet: the node stops heartbeating and the leader's sweep marks it lost. */
  loseNode?(): Promise<void>;
  /** Fleet: the lost node registers again (its daemon restarted; its sandboxes kept running). */
  returnNode?(): Promise<void>;
  /** Fleet: a node that is registered and ready but whose daemon does not answer. */
  silentNodeId?: string;
  nodeApi?: NodeApiProbe;
  /** The warm pool of the host `place` names (the node's, on a fleet), when the world has one. */
  warmPool?: {
    /** Resolves once a ready sandbox of BACKEND_IMAGE waits (the pool was asked for it). */
    ready(): Promise<void>;
    /** Sandboxes the host's driver made so far: an adoption makes none. */
    creates(): number;
  };
  close(): Promise<void>;
}

export interface BackendHarness {
  world(): Promise<BackendWorld>;
}

const WANT: PoolWant = { image: BACKEND_IMAGE, imageId: BACKEND_IMAGE_ID };
const SMALL: Demand = { cpus: 1, memory_mb: 256, disk_mb: 1024 };
const isCode = (code: string, field?: string) => (err: unknown) => {
  assert.ok(err instanceof AppError, `expected an AppError ${code}, got ${String(err)}`);
  assert.equal(err.code, code, err.message);
  if (field !== undefined) assert.equal(err.details?.field, field);
  return true;
};

/** Resolves once a local backend's own pool has a ready sandbox (a world's `warmPool.ready`); 10 s at most. */
export async function poolReady(backend: { readonly pool: { counts(): { ready: number } } | null }): Promise<void> {
  for (const until = Date.now() + 10_000; Date.now() < until; await new Promise((r) => setTimeout(r, 20))) {
    if ((backend.pool?.counts().ready ?? 0) > 0) return;
  }
  throw new Error('no warm-pool sandbox became ready in 10 s');
}

export function runBackendContract(name: string, harness: BackendHarness): void {
  describe(`backend contract: ${name}`, () => {
    /** A fresh world, closed after the test; `record()` places a new workspace in it. */
    async function world(t: TestContext) {
      const w = await harness.world();
      const taken = new Set<string>();
      t.after(() => w.close());
      const record = async (over: Partial<WorkspaceRecord> = {}): Promise<WorkspaceRecord> => {
        const nodeId = await w.backend.place(SMALL, []);
        const ip = await w.backend.allocateAddress(nodeId, taken);
        taken.add(ip);
        const base = sampleWorkspace();
        return sampleWorkspace({
          nodeId, ip, image: BACKEND_IMAGE, imageId: null, state: 'creating', pending: null,
          config: { ...base.config, cpus: SMALL.cpus, memory_mb: SMALL.memory_mb, disk_size_mb: SMALL.disk_mb, workloads: [] },
          ...over,
        });
      };
      return { w, b: w.backend, record };
    }

    test('place names a node with room (the local one on a single host); a fleet refuses when none fits', async (t) => {
      const { w, b } = await world(t);
      assert.equal(await b.place(SMALL, []), w.expectedNode);
      if (!w.nodeRoom) return;
      const room = w.nodeRoom;
      await assert.rejects(b.place({ ...SMALL, cpus: room.cpus + 1 }, []), isCode('HOST_CAPACITY_REACHED'));
      const full = Array.from({ length: room.workspaces }, () => ({ nodeId: w.expectedNode, demand: SMALL }));
      await assert.rejects(b.place(SMALL, full), isCode('HOST_CAPACITY_REACHED'), 'the batch holds the room');
      assert.equal(await b.place(SMALL, full.slice(1)), w.expectedNode);
    });

    test('allocateAddress gives distinct addresses inside the subnet, none of those taken', async (t) => {
      const { w, b } = await world(t);
      const node = await b.place(SMALL, []);
      const taken = new Set<string>();
      for (let i = 0; i < 5; i++) {
        const ip = await b.allocateAddress(node, taken);
        assert.ok(w.inSubnet(ip), `${ip} in the subnet`);
        assert.ok(!taken.has(ip));
        taken.add(ip);
      }
    });

    test('bringUp runs the sandbox, pins the image and is idempotent; stats read it', async (t) => {
      const { b, record } = await world(t);
      const rec = await record();
      await b.bringUp(rec);
      assert.equal(rec.imageId, BACKEND_IMAGE_ID, 'the pinned image comes back to the caller');
      assert.equal((await b.inspect(rec)).state, 'running');
      await b.bringUp(rec);
      assert.equal((await b.inspect(rec)).state, 'running');
      const stats = await b.stats(rec);
      assert.ok(stats.pids > 0 && stats.memoryLimitBytes === SMALL.memory_mb * 1024 * 1024, JSON.stringify(stats));
    });

    test('bringDown stops (idempotent); pause and resume; updateResources grows the disk', async (t) => {
      const { b, record } = await world(t);
      const rec = await record();
      await b.bringUp(rec);
      if (b.capabilities.pause) {
        await b.pause(rec);
        assert.equal((await b.inspect(rec)).state, 'paused');
        await b.resume(rec);
        assert.equal((await b.inspect(rec)).state, 'running');
      }
      rec.config = { ...rec.config, disk_size_mb: SMALL.disk_mb * 2 };
      await b.updateResources(rec);
      assert.equal((await b.stats(rec)).diskLimitBytes, SMALL.disk_mb * 2 * 1024 * 1024);
      await b.bringDown(rec);
      assert.equal((await b.inspect(rec)).state, 'stopped');
      await b.bringDown(rec);
      assert.equal((await b.inspect(rec)).state, 'stopped');
    });

    test('syncAgentToken writes the current token where the agent reads it (empty when disabled)', async (t) => {
      const { w, b, record } = await world(t);
      const rec = await record();
      await b.bringUp(rec);
      rec.apiAccess = { enabled: true, rawToken: 'ab'.repeat(32), generation: 2 };
      await b.syncAgentToken(rec);
      assert.equal(await w.readAgentToken(rec.id), 'ab'.repeat(32));
      rec.apiAccess = { ...rec.apiAccess, enabled: false, generation: 3 };
      await b.syncAgentToken(rec);
      assert.equal(await w.readAgentToken(rec.id), '');
    });

    test('destroy leaves nothing (idempotent); destroySandbox removes the sandbox', async (t) => {
      const { b, record } = await world(t);
      const rec = await record();
      await b.bringUp(rec);
      await b.destroySandbox(rec);
      assert.equal((await b.inspect(rec)).state, 'absent');
      await b.bringUp(rec);
      await b.destroy(rec);
      assert.equal((await b.inspect(rec)).state, 'absent');
      await b.destroy(rec);
      await b.destroySandbox(rec);
      assert.equal((await b.inspect(rec)).state, 'absent');
    });

    test('an AppError of the backend reaches the caller with its code and details', async (t) => {
      const { b, record } = await world(t);
      const rec = await record({ image: BACKEND_MISSING_IMAGE });
      await assert.rejects(b.bringUp(rec), isCode('image_not_found', 'image'));
    });

    test('via and assertReachable; watchExit is a stop function or null', async (t) => {
      const { w, b, record } = await world(t);
      const rec = await record();
      assert.deepEqual(await b.via(rec), w.expectedVia);
      await b.assertReachable(rec);
      await b.bringUp(rec);
      const stop = await b.watchExit(rec, () => {});
      assert.ok(stop === null || typeof stop === 'function');
      stop?.();
      assert.equal(b.owns(rec), b.kind === 'local');
    });

    test('warm pool: takeReady hands a ready sandbox to one reservation and reports what the pool holds; putBack returns it', async (t) => {
      const { w, b } = await world(t);
      if (!w.warmPool) return t.skip('no warm pool in this world');
      const node = await b.place(SMALL, []);
      assert.equal((await b.takeReady(node, WANT)).ready, null, 'nothing waits before the image was asked for');
      await w.warmPool.ready();
      const idle = await b.takeReady(node, null);
      assert.equal(idle.ready, null, 'no want, no take');
      assert.equal(idle.held.length, 1, 'the ready sandbox holds its address');
      const offer = await b.takeReady(node, WANT);
      assert.ok(offer.ready && w.inSubnet(offer.ready.ip) && /^[0-9a-f]{8}$/.test(offer.ready.shortId), JSON.stringify(offer));
      assert.deepEqual(offer.held, [offer.ready.ip], 'a taken, unassigned sandbox still holds its address');
      assert.equal((await b.takeReady(node, WANT)).ready, null, 'one sandbox, one reservation');
      assert.equal((await b.takeReady(node, { image: BACKEND_IMAGE, imageId: `sha256:${'00'.repeat(32)}` })).ready, null, 'another build');
      await b.putBackReady(node, offer.ready);
      await b.putBackReady(node, offer.ready); // idempotent
      assert.deepEqual((await b.takeReady(node, WANT)).ready, offer.ready, 'put back: it waits again');
    });

    test('warm pool: an assigned sandbox is adopted by the record\'s bringUp (no new sandbox); assign is idempotent', async (t) => {
      const { w, b, record } = await world(t);
      if (!w.warmPool) return t.skip('no warm pool in this world');
      const node = await b.place(SMALL, []);
      await b.takeReady(node, WANT);
      await w.warmPool.ready();
      const { ready } = await b.takeReady(node, WANT);
      assert.ok(ready);
      const rec = await record({ ip: ready.ip, shortId: ready.shortId, imageId: BACKEND_IMAGE_ID });
      await b.assignReady(node, rec.id, ready);
      await b.assignReady(node, rec.id, ready);
      const made = w.warmPool.creates();
      await b.bringUp(rec);
      assert.equal(w.warmPool.creates(), made, 'adopted, not booted');
      assert.equal((await b.inspect(rec)).state, 'running');
      assert.deepEqual((await b.takeReady(node, null)).held.includes(ready.ip), false, 'the record holds the address now');
    });

    test('warm pool: a taken sandbox whose assignment never came is adopted by the bringUp of the record holding it', async (t) => {
      const { w, b, record } = await world(t);
      if (!w.warmPool) return t.skip('no warm pool in this world');
      const node = await b.place(SMALL, []);
      await b.takeReady(node, WANT);
      await w.warmPool.ready();
      const { ready } = await b.takeReady(node, WANT);
      assert.ok(ready);
      const rec = await record({ ip: ready.ip, shortId: ready.shortId, imageId: BACKEND_IMAGE_ID });
      const made = w.warmPool.creates();
      await b.bringUp(rec); // the replica that took it died after storing the record
      assert.equal(w.warmPool.creates(), made, 'adopted, not booted');
      assert.equal((await b.inspect(rec)).state, 'running');
      await b.assignReady(node, rec.id, ready); // late: a no-op
      await b.putBackReady(node, ready); // late: a no-op, it is the workspace's
      assert.equal((await b.takeReady(node, WANT)).ready?.shortId === ready.shortId, false, 'never handed out again');
    });

    test('a lost node: every call answers 503 node_lost (a silent one too, reason unreachable); back, the same sandbox answers', async (t) => {
      const { w, b, record } = await world(t);
      if (!w.loseNode || !w.returnNode || !w.silentNodeId) return t.skip('a single host is never lost');
      const silent = await record({ nodeId: w.silentNodeId });
      const err = await b.inspect(silent).then(() => null, (e: unknown) => e);
      assert.ok(isCode('node_lost')(err) && (err as AppError).status === 503 && (err as AppError).details?.reason === 'unreachable');
      const rec = await record();
      await b.bringUp(rec);
      const before = await b.inspect(rec);
      await w.loseNode();
      await assert.rejects(b.assertReachable(rec), isCode('node_lost'));
      await assert.rejects(b.inspect(rec), isCode('node_lost'));
      await assert.rejects(b.bringDown(rec), isCode('node_lost'));
      await assert.rejects(b.via(rec), isCode('node_lost'));
      await w.returnNode();
      await b.assertReachable(rec);
      assert.deepEqual(await b.inspect(rec), before, 're-adopted: the same sandbox, not a new one');
      assert.deepEqual(await b.via(rec), w.expectedVia);
    });

    test('the node API refuses forged, replayed, wrong-node, -op, -workspace, -body and -purpose tokens', async (t) => {
      const { w, b, record } = await world(t);
      const api = w.nodeApi;
      if (!api) return t.skip('no node API on a single host');
      const rec = await record();
      await b.bringUp(rec);
      const claim = (over: Partial<NodeApiClaim> = {}) =>
        api.sign({ nodeId: api.nodeId, op: 'destroy', workspaceId: rec.id, record: rec, purpose: 'api', ...over });
      const good = claim({ op: 'inspect' });
      assert.deepEqual(await api.post('inspect', good, rec), { status: 200, code: null });
      const refused: Array<[string, string, string | null]> = [
        ['replayed', 'inspect', good],
        ['forged', 'destroy', claim({ forged: true })],
        ['wrong node', 'destroy', claim({ nodeId: 'another-node' })],
        ['wrong op', 'destroy', claim({ op: 'inspect' })],
        ['wrong workspace', 'destroy', claim({ workspaceId: 'ws_other' })],
        ['wrong body', 'destroy', claim({ record: { ...rec, ip: '10.9.9.9' } })],
        ['wrong purpose', 'destroy', claim({ purpose: 'agent' })],
        ['none', 'destroy', null],
      ];
      for (const [what, op, token] of refused) {
        const res = await api.post(op, token, rec);
        assert.deepEqual(res, { status: token === null ? 401 : 403, code: token === null ? 'unauthorized' : 'forbidden' }, what);
      }
      assert.equal((await b.inspect(rec)).state, 'running', 'no refused destroy ran');
    });
  });
}
