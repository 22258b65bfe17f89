/**
 * The lifecycle promises of seed 004 on a real server: TTL `stop` and `remove`
 * (including a deadline that passes while the server is down), the restart policy of
 * the workspace's `cmd` (`on-failure` restarts exactly `max_restarts` times, with
 * `restart_info`), `remove_on_exit`, `wait_for_init`, destroying the VM while keeping
 * the record (`archived`, then back from its archive), and idle sleep woken by a
 * gateway request that is answered.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Runtime } from 'oblien';
import { api, startServer, type TestServer } from '../support/warren.js';
import { ensureTestImages } from '../support/images.js';
import { adminClient, openRuntime, waitForStatus, waitForWorkspace, type Client } from '../support/workspaces.js';

let server: TestServer;
let client: Client;

before(async () => {
  await ensureTestImages(['debian-12']);
  server = await startServer({ env: { WARREN_RESTART_BACKOFF_MS: '100', WARREN_IDLE_MIN_SECONDS: '1' } });
  client = adminClient(server);
});
after(async () => server?.stop());

async function create(config: Record<string, unknown>, mode: 'permanent' | 'temporary' = 'permanent') {
  const res = await api(server, 'POST', '/workspace', { image: 'debian-12', mode, config: { memory_mb: 128, ...config } });
  assert.equal(res.status, 201, res.text);
  return res.body.workspace;
}

const gone = (id: string, ms = 30_000) => waitForWorkspace(server, id, (_ws, status) => status === 404, ms);

test('TTL stop and TTL remove act on time', async () => {
  const stopper = await create({ ttl: 2, ttl_action: 'stop' }, 'temporary');
  const remover = await create({ ttl: 2, ttl_action: 'remove' }, 'temporary');
  assert.ok(stopper.lifecycle.ttl_expires_at);
  const stopped = await waitForStatus(server, stopper.id, 'stopped', 15_000);
  assert.equal(stopped.info.user_requested_stop, false);
  await gone(remover.id, 15_000);
  await client.workspaces.delete(stopper.id);
});

test('ping renews the TTL; resume after a TTL pause runs a full TTL again', async () => {
  const ws = await create({ ttl: 3, ttl_action: 'pause' }, 'temporary');
  try {
    const first = (await client.workspaces.lifecycle.get(ws.id) as any).expires_at;
    await new Promise((r) => setTimeout(r, 1500));
    const pinged: any = await client.workspaces.lifecycle.ping(ws.id, { ttl_seconds: 4 });
    assert.equal(pinged.ttl, 4);
    assert.ok(Date.parse(pinged.expires_at) > Date.parse(first) + 1000, 'ping moved the deadline');
    await waitForStatus(server, ws.id, 'paused', 15_000);
    await client.workspaces.resume(ws.id);
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal((await client.workspaces.get(ws.id)).status, 'running', 'a resumed workspace is paused again at once');
  } finally {
    await client.workspaces.delete(ws.id);
  }
});

test('on-failure restarts a failing cmd exactly max_restarts times, then it stays stopped', async () => {
  const ws = await create({ cmd: ['sh', '-c', 'sleep 0.3; exit 3'], restart_policy: 'on-failure', max_restarts: 3 });
  try {
    const final = await waitForWorkspace(server, ws.id,
      (w) => w?.status === 'stopped' && w.lifecycle.restart_info.count === 3 && !w.lifecycle.restart_info.next_restart_at, 60_000);
    assert.equal(final.provisioning, null);
    const lc: any = await client.workspaces.lifecycle.get(ws.id);
    assert.equal(lc.restart_info.count, 3);
    assert.equal(lc.restart_info.last_exit_code, 3);
    assert.equal(lc.restart_info.last_exit_reason, 'exited');
    assert.ok(lc.restart_info.last_restart_at);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal((await client.workspaces.lifecycle.get(ws.id) as any).restart_info.count, 3, 'restarted beyond max_restarts');
    await client.workspaces.start(ws.id);
    assert.equal((await client.workspaces.lifecycle.get(ws.id) as any).restart_info.count, 0, 'a user start resets the count');
  } finally {
    await client.workspaces.delete(ws.id);
  }
});

test('a cmd that exits 0 under on-failure is not restarted; `always` restarts it', async () => {
  const clean = await create({ cmd: ['sh', '-c', 'sleep 0.2'], restart_policy: 'on-failure' });
  const always = await create({ cmd: ['sh', '-c', 'sleep 0.3'], restart_policy: 'always', max_restarts: 2 });
  try {
    const done = await waitForStatus(server, clean.id, 'stopped', 20_000);
    assert.equal(done.lifecycle.restart_info.count, 0);
    await waitForWorkspace(server, always.id, (w) => w?.lifecycle.restart_info.count === 2 && w.status === 'stopped', 30_000);
  } finally {
    await client.workspaces.delete(clean.id);
    await client.workspaces.delete(always.id);
  }
});

test('remove_on_exit deletes the workspace when its cmd exits', async () => {
  const ws = await create({ cmd: ['sh', '-c', 'sleep 0.5; exit 0'], remove_on_exit: true });
  await gone(ws.id, 20_000);
});

test('wait_for_init answers only when the workspace is ready', async () => {
  const ws = await create({ wait_for_init: true, cmd: ['sh', '-c', 'sleep 600'] });
  assert.equal(ws.status, 'running');
  assert.equal(ws.ready, true);
  await client.workspaces.delete(ws.id);
});

test('DELETE /lifecycle destroys the VM but keeps the record; start brings it back from its final archive', async () => {
  const ws = await create({});
  const rt = await openRuntime(client, server, ws.id);
  await rt.exec.run(['sh', '-c', 'echo kept > /root/keep']);
  const destroyed = await api(server, 'DELETE', `/workspace/${ws.id}/lifecycle?archive=true`);
  assert.equal(destroyed.status, 200, destroyed.text);
  assert.equal(destroyed.body.status, 'archived');
  assert.equal(destroyed.body.archive, 'v1');
  assert.equal((await client.workspaces.get(ws.id)).status, 'archived');
  const archived = await api(server, 'GET', '/workspace/archived');
  const entry = archived.body.workspaces.find((w: any) => w.id === ws.id);
  assert.deepEqual(entry.archives, ['v1']);
  assert.equal((await api(server, 'POST', `/workspace/${ws.id}/pause`)).body.code, 'invalid_state');
  await client.workspaces.start(ws.id);
  const back = new Runtime({ token: (await client.workspaces.apiAccess.enable(ws.id)).token, baseUrl: server.url });
  assert.equal((await back.exec.run(['cat', '/root/keep'])).stdout, 'kept\n');
  await client.workspaces.lifecycle.destroy(ws.id); // no archive asked: the layer goes
  await client.workspaces.start(ws.id);
  const empty = new Runtime({ token: (await client.workspaces.apiAccess.enable(ws.id)).token, baseUrl: server.url });
  assert.equal((await empty.exec.run(['cat', '/root/keep'])).stdout, 'kept\n', 'started from the latest archive (v1)');
  await client.workspaces.delete(ws.id);
});

test('idle policy: the workspace sleeps after suspend_after and a gateway request wakes it and is answered', async () => {
  const ws = await create({});
  try {
    const rt = await openRuntime(client, server, ws.id);
    await rt.exec.run(['sh', '-c', 'echo awake > /root/state']);
    const bad = await api(server, 'PUT', `/workspace/${ws.id}/lifecycle/idle`, { suspend_after: '5x' });
    assert.equal(bad.body.details.field, 'suspend_after');
    const set: any = await client.workspaces.lifecycle.setIdle(ws.id, { suspend_after: 1 });
    assert.deepEqual(set.idle, { suspend_after: 1, stop_after: 0 });
    const asleep = await waitForStatus(server, ws.id, 'paused', 15_000);
    assert.equal(asleep.lifecycle.sleeping, true);
    const t0 = performance.now();
    const r = await rt.exec.run(['cat', '/root/state']);
    assert.equal(r.stdout, 'awake\n');
    console.log(`# woke a sleeping workspace for an exec in ${(performance.now() - t0).toFixed(1)} ms`);
    assert.equal((await client.workspaces.get(ws.id)).status, 'running');
    await client.workspaces.lifecycle.setIdle(ws.id, null);
    assert.equal((await client.workspaces.lifecycle.get(ws.id) as any).idle, null);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal((await client.workspaces.get(ws.id)).status, 'running', 'slept with the policy disabled');
    const temp = await create({ ttl: 600 }, 'temporary');
    const refused = await api(server, 'PUT', `/workspace/${temp.id}/lifecycle/idle`, { suspend_after: 60 });
    assert.equal(refused.body.code, 'idle_not_allowed');
    await client.workspaces.delete(temp.id);
  } finally {
    await client.workspaces.delete(ws.id);
  }
});

test('a TTL that expires while the server is down fires right after it starts', async () => {
  const ws = await create({ ttl: 3, ttl_action: 'stop' }, 'temporary');
  await server.kill();
  await new Promise((r) => setTimeout(r, 3500));
  await server.restart();
  await waitForStatus(server, ws.id, 'stopped', 10_000);
  await client.workspaces.delete(ws.id);
});
