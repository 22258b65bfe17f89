import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppError } from '../contract/errors.js';
import { assertNotReserved, parseExpose, parsePort, parseSlugUpdate } from '../contract/public-access.js';
import { openStore } from '../store/open.js';
import { sampleWorkspace } from '../store/contract-suite.js';
import type { Store } from '../store/store.js';
import { KeyedLock } from './locks.js';
import { PublicAccess, publicUrls, randomSlug } from './public-access.js';

function rejectsWith(code: string, field?: string) {
  return (err: unknown) => {
    assert.ok(err instanceof AppError, String(err));
    assert.equal(err.code, code);
    if (field) assert.equal(err.details?.field, field);
    return true;
  };
}

async function setup(t: TestContext, max?: number) {
  const dir = mkdtempSync(join(tmpdir(), 'warren-pa-'));
  const store: Store = await openStore({ dataDir: dir });
  t.after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const lock = new KeyedLock();
  const events: string[] = [];
  const pa = new PublicAccess({
    store,
    workspaces: {
      get: async (id) => {
        const rec = await store.findWorkspace(id);
        if (!rec) throw new AppError('not_found', 'no', { field: 'id' });
        return rec;
      },
      withLock: (id, fn) => lock.run(id, fn),
    },
    urls: publicUrls({ publicDomain: 'localhost', baseUrl: () => 'http://127.0.0.1:8080/', port: () => 8080 }),
    onExposuresChanged: async (id) => void events.push(`changed ${id}`),
    onRevoked: (id, port) => void events.push(`revoked ${id}:${port}`),
    maxPerWorkspace: max,
  });
  const a = sampleWorkspace({ state: 'running', ip: '10.1.0.5' });
  const b = sampleWorkspace({ state: 'stopped' });
  await store.insertWorkspace(a);
  await store.insertWorkspace(b);
  return { store, pa, events, a, b };
}

test('input rules: port range, reserved agent port, slug shape, label, domain', () => {
  assert.deepEqual(parseExpose({ port: 3000, label: 'Web', slug: 'my-app' }), { port: 3000, label: 'Web', slug: 'my-app' });
  for (const port of [0, 65536, 1.5, '80', null, undefined]) assert.throws(() => parseExpose({ port }), rejectsWith('validation_error', 'port'));
  assert.throws(() => assertNotReserved(parseExpose({ port: 9990 }).port), rejectsWith('port_reserved', 'port'));
  for (const slug of ['A', '-ab', 'ab-', 'a_b', 'x'.repeat(64), 'ab', 5]) {
    assert.throws(() => parseExpose({ port: 1, slug }), rejectsWith('validation_error', 'slug'), String(slug));
  }
  assert.equal(parseExpose({ port: 1, slug: 'a' }).slug, 'a');
  assert.equal(parseExpose({ port: 1, slug: 'x'.repeat(63) }).slug?.length, 63);
  assert.throws(() => parseExpose({ port: 1, label: 'x'.repeat(65) }), rejectsWith('validation_error', 'label'));
  assert.throws(() => parseExpose({ port: 1, label: 'a\nb' }), rejectsWith('validation_error', 'label'));
  assert.throws(() => parseExpose({ port: 1, domain: 'example.com' }), rejectsWith('domain_not_verified', 'domain'));
  assert.equal(parsePort('8080', []), 8080);
  assert.throws(() => parsePort('80x', []), rejectsWith('validation_error', 'port'));
  assert.throws(() => parseSlugUpdate({}), rejectsWith('validation_error', 'slug'));
  assert.match(randomSlug(), /^[a-z0-9]{8}$/);
});

test('expose, list, re-expose (idempotent), update slug, revoke; hooks fire', async (t) => {
  const { pa, events, a } = await setup(t);
  const first = await pa.expose(a.id, { port: 3000, label: 'Web' });
  assert.equal(first.created, true);
  const slug = first.port.hash;
  assert.match(slug, /^[a-z0-9]{8}$/);
  assert.deepEqual({ ...first.port, created_at: 'x' }, {
    port: 3000, hash: slug, label: 'Web', url: `http://${slug}.localhost:8080/`,
    path_url: `http://127.0.0.1:8080/p/${slug}/`, domain: null, created_at: 'x',
  });
  const again = await pa.expose(a.id, { port: 3000, label: 'Web 2' });
  assert.equal(again.created, false);
  assert.equal(again.port.hash, slug);
  assert.equal(again.port.created_at, first.port.created_at);
  assert.equal((await pa.list(a.id)).length, 1);

  const renamed = await pa.updateSlug(a.id, 3000, 'my-app');
  assert.equal(renamed.hash, 'my-app');
  assert.equal(renamed.label, 'Web 2');
  assert.deepEqual(await pa.resolve('my-app'), { workspaceId: a.id, ip: '10.1.0.5', port: 3000 });
  assert.equal(await pa.resolve(slug), null);

  await pa.revoke(a.id, 3000);
  assert.deepEqual(await pa.list(a.id), []);
  assert.equal(await pa.resolve('my-app'), null);
  assert.deepEqual(events, [`changed ${a.id}`, `changed ${a.id}`, `revoked ${a.id}:3000`, `changed ${a.id}`,
    `revoked ${a.id}:3000`, `changed ${a.id}`]);
});

test('slug taken across workspaces; unknown port 404; limit; stopped workspace 409 at the edge', async (t) => {
  const { pa, a, b } = await setup(t, 2);
  await pa.expose(a.id, { port: 80, slug: 'shared' });
  await assert.rejects(pa.expose(b.id, { port: 80, slug: 'shared' }), rejectsWith('slug_taken', 'slug'));
  await pa.expose(b.id, { port: 81, slug: 'other' });
  await assert.rejects(pa.updateSlug(b.id, 81, 'shared'), rejectsWith('slug_taken', 'slug'));
  await assert.rejects(pa.updateSlug(a.id, 81, 'zzz'), rejectsWith('not_found', 'port'));
  await assert.rejects(pa.revoke(a.id, 81), rejectsWith('not_found', 'port'));
  await assert.rejects(pa.expose(a.id, { port: 9990 }), rejectsWith('port_reserved', 'port')); // the domain's run-time list
  await pa.expose(a.id, { port: 81 });
  await assert.rejects(pa.expose(a.id, { port: 82 }), rejectsWith('public_port_limit_reached', 'port'));
  await pa.expose(a.id, { port: 81, label: 'still fine' }); // re-exposing does not count
  await assert.rejects(pa.resolve('other'), rejectsWith('workspace_not_running'));
  const byWs = await pa.summariesByWorkspace();
  assert.deepEqual(byWs.get(b.id), [{ port: 81, hash: 'other', label: '', url: 'http://other.localhost:8080/' }]);
  assert.deepEqual((await pa.exposures()).length, 3);
});
