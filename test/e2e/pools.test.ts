/**
 * Quotas by reservation (seed 004; control-plane.md §2): concurrent creates against an owned
 * pool never overshoot, also when the server is killed mid-burst and started again; a
 * namespace pool from the operator's quota file holds that namespace only. The count and
 * owned-pool codes answer 409 (spec README §4.4: the SDK maps them to ConflictError; the seed's
 * 402 disagrees), the running pool 402.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { api, startServer, type TestServer } from '../support/warren.js';
import { ensureTestImages } from '../support/images.js';

let server: TestServer;
const dir = mkdtempSync(join(tmpdir(), 'warren-pools-'));
const quotaFile = join(dir, 'quota.json');
const POOL = 10;

before(async () => {
  await ensureTestImages(['debian-12']);
  writeFileSync(quotaFile, JSON.stringify({ namespaces: { 'team-q': { max_workspaces: 2 } } }));
  // Each workspace reserves 128 MB: the owned pool holds exactly POOL of them.
  server = await startServer({ env: { WARREN_POOL_MEMORY_MB: String(128 * POOL), WARREN_QUOTA_FILE: quotaFile, WARREN_RATE_LIMIT: '0' } });
});
after(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** n creates at once; the status and code of each (0 when the connection broke). */
function burst(n: number, body: Record<string, unknown> = {}): Promise<Array<{ status: number; code?: string }>> {
  return Promise.all(Array.from({ length: n }, async () => {
    try {
      const r = await api(server, 'POST', '/workspace', { image: 'debian-12', memory_mb: 128, ...body });
      return { status: r.status, code: r.body?.code };
    } catch {
      return { status: 0 };
    }
  }));
}

async function total(): Promise<number> {
  return (await api(server, 'GET', '/workspace?limit=100')).body.total;
}

async function deleteAll(): Promise<void> {
  const list = (await api(server, 'GET', '/workspace?limit=100')).body.workspaces;
  for (const w of list) await api(server, 'DELETE', `/workspace/${w.id}`);
}

test(`50 concurrent creates against a pool of ${POOL}: exactly ${POOL}, the rest POOL_LIMIT_REACHED`, async () => {
  const results = await burst(50);
  const created = results.filter((r) => r.status === 201);
  const refused = results.filter((r) => r.status === 409 && r.code === 'POOL_LIMIT_REACHED');
  assert.equal(created.length, POOL);
  assert.equal(refused.length, 50 - POOL);
  assert.equal(await total(), POOL);
  const quota = (await api(server, 'GET', '/workspace/quota')).body;
  assert.equal(quota.currentSandboxes, POOL);
  assert.equal(quota.pool_usage.memory_mb, 128 * POOL);
  await deleteAll();
});

test('a kill -9 mid-burst and a start: the pool still ends at exactly its size', async () => {
  const first = burst(25);
  await new Promise((r) => setTimeout(r, 150));
  await server.kill();
  const before = await first;
  assert.ok(before.every((r) => r.status === 0 || r.status === 201 || r.code === 'POOL_LIMIT_REACHED'), JSON.stringify(before));
  await server.restart({ WARREN_POOL_MEMORY_MB: String(128 * POOL), WARREN_QUOTA_FILE: quotaFile, WARREN_RATE_LIMIT: '0' });
  const kept = await total();
  assert.ok(kept <= POOL, `${kept} workspaces survived the kill`);
  const after = await burst(25);
  assert.ok(after.every((r) => r.status === 201 || r.code === 'POOL_LIMIT_REACHED'), JSON.stringify(after));
  assert.equal(after.filter((r) => r.status === 201).length, POOL - kept);
  assert.equal(await total(), POOL);
  await deleteAll();
});

test('a namespace pool from the quota file holds that namespace only', async () => {
  await api(server, 'POST', '/namespaces', { name: 'team-q' });
  await api(server, 'POST', '/namespaces', { name: 'team-r' });
  const q = await burst(3, { namespace: 'team-q' });
  assert.equal(q.filter((r) => r.status === 201).length, 2);
  assert.equal(q.filter((r) => r.status === 409 && r.code === 'SANDBOX_LIMIT_REACHED').length, 1);
  assert.equal((await burst(3, { namespace: 'team-r' })).filter((r) => r.status === 201).length, 3);
  const token = (await api(server, 'POST', '/tokens', { scope: 'namespace', namespace: 'team-q' })).body.token;
  const res = await fetch(`${server.url}/workspace/quota`, { headers: { authorization: `Bearer ${token}` } });
  const quota = await res.json();
  assert.equal(quota.maxSandboxes, 2);
  assert.equal(quota.currentSandboxes, 2);
  assert.equal(quota.canCreate, false);
  assert.equal(quota.reason, 'SANDBOX_LIMIT_REACHED');
  await deleteAll();
});
