/**
 * Namespaces through the official library and CLI (control-plane.md §21): create, ensure,
 * list with filters, get by id or slug, update, resource limits enforced on create and
 * resize (409 NAMESPACE_LIMIT_REACHED), suspend (its workspaces stop; no create or start
 * until activate), stop-workspaces, activity, usage, delete with and without its workspaces.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { api, startServer, type TestServer } from '../support/warren.js';
import { ensureTestImages } from '../support/images.js';
import { cliHarness } from '../support/cli.js';
import { adminClient, waitForStatus, type Client } from '../support/workspaces.js';

let server: TestServer;
let client: Client;
const harness = cliHarness(() => server);

before(async () => {
  await ensureTestImages(['debian-12']);
  server = await startServer();
  client = adminClient(server);
});
after(async () => {
  await server?.stop();
  harness.cleanup();
});

test('create, ensure, list, get, update; bad input names its field', async () => {
  const made: any = await client.namespaces.create({ name: 'Team Alpha', type: 'production', tags: ['a'], metadata: { owner: 'ana' } } as any);
  assert.equal(made.data.slug, 'team-alpha');
  assert.equal(made.data.status, 'active');
  assert.match(made.data.id, /^ns_/);
  const again: any = await client.namespaces.ensure({ slug: 'team-alpha' } as any);
  assert.equal(again.created, false);
  assert.equal(again.data.id, made.data.id);
  const fresh: any = await client.namespaces.ensure({ name: 'Staging Box', type: 'staging' } as any);
  assert.equal(fresh.created, true);
  const list: any = await client.namespaces.list({ type: 'production' } as any);
  assert.deepEqual(list.data.map((n: any) => n.slug), ['team-alpha']);
  assert.deepEqual(list.namespaces, list.data);
  assert.equal(list.pagination.total, 1);
  const bySlug: any = await client.namespaces.get('team-alpha');
  assert.equal(bySlug.data.id, made.data.id);
  const updated: any = await client.namespaces.update(made.data.id, { description: 'the alpha team', resource_limits: { max_workspaces: 2, max_ram_mb: 512 } } as any);
  assert.equal(updated.data.description, 'the alpha team');
  assert.deepEqual(updated.data.resource_limits, { max_workspaces: 2, max_vcpus: null, max_ram_mb: 512, max_disk_gb: null });
  const bad = await api(server, 'POST', '/namespaces', { name: 'x', type: 'prod' });
  assert.equal(bad.body.details.field, 'type');
  const badSlug = await api(server, 'POST', '/namespaces', { name: 'x', slug: 'Not A Slug' });
  assert.equal(badSlug.body.details.field, 'slug');
  const taken = await api(server, 'POST', '/namespaces', { name: 'y', slug: 'team-alpha' });
  assert.equal(taken.status, 409);
  assert.equal((await api(server, 'GET', '/namespaces/nope')).status, 404);
  assert.match(await harness.cli('ns', 'list'), /team-alpha/);
  assert.match(await harness.cli('ns', 'get', 'staging-box'), /staging/);
});

test('limits on create and resize; suspend stops and refuses; activate; activity; delete', async () => {
  const ns: any = (await client.namespaces.create({ name: 'Limited', resource_limits: { max_workspaces: 2, max_ram_mb: 512 } } as any)).data;
  const a = await client.workspaces.create({ image: 'debian-12', memory_mb: 256, namespace: ns.slug } as any);
  const b = await client.workspaces.create({ image: 'debian-12', memory_mb: 256, namespace: ns.slug } as any);
  try {
    const third = await api(server, 'POST', '/workspace', { image: 'debian-12', memory_mb: 128, namespace: ns.slug });
    assert.equal(third.status, 409);
    assert.equal(third.body.code, 'NAMESPACE_LIMIT_REACHED');
    assert.equal(third.body.details.field, 'max_workspaces');
    const grow = await api(server, 'PUT', `/workspace/${a.id}/resources`, { memory_mb: 512 });
    assert.equal(grow.body.code, 'NAMESPACE_LIMIT_REACHED');
    assert.equal(grow.body.details.field, 'max_ram_mb');
    await waitForStatus(server, a.id, 'running');
    await waitForStatus(server, b.id, 'running');

    const suspended: any = await client.namespaces.suspend(ns.id);
    assert.equal(suspended.data.status, 'suspended');
    await waitForStatus(server, a.id, 'stopped');
    await waitForStatus(server, b.id, 'stopped');
    const start = await api(server, 'POST', `/workspace/${a.id}/start`);
    assert.equal(start.status, 403);
    assert.equal(start.body.code, 'namespace_suspended');
    await client.namespaces.activate(ns.id);
    await client.workspaces.start(a.id);
    await waitForStatus(server, a.id, 'running');
    const stopped: any = await client.namespaces.stopWorkspaces(ns.id);
    assert.deepEqual(stopped.stopped, [a.id]);

    const activity: any = await client.namespaces.activity(ns.id, { limit: 10 } as any);
    assert.deepEqual(activity.data.map((e: any) => e.action), ['workspaces_stopped', 'activated', 'suspended', 'created']);
    const usage: any = await client.namespaces.usage(ns.id, { days: 7 } as any);
    assert.equal(usage.data.workspaces, 2);

    const refuse = await api(server, 'DELETE', `/namespaces/${ns.id}`, {});
    assert.equal(refuse.status, 409);
    assert.equal(refuse.body.details.field, 'deleteWorkspaces');
    const gone: any = await client.namespaces.delete(ns.id, { deleteWorkspaces: true } as any);
    assert.deepEqual(new Set(gone.deleted_workspaces), new Set([a.id, b.id]));
    assert.equal((await api(server, 'GET', `/workspace/${a.id}`)).status, 404);
    assert.equal((await api(server, 'GET', `/namespaces/${ns.id}`)).status, 404);
  } finally {
    for (const id of [a.id, b.id]) await client.workspaces.delete(id).catch(() => undefined);
  }
});
