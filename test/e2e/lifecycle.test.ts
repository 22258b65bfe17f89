/**
 * Lifecycle through the official client and raw HTTP: the transition table on a
 * real workspace, persistence of the writable layer across stop/start, network
 * policy validation, and crash recovery: the server SIGKILLed mid-create and with
 * running workspaces, then restarted, reconciles without losing anything.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import Oblien, { Runtime } from 'oblien';
import { ADMIN, api, startServer, type TestServer } from '../support/warren.js';
import { ensureTestImages } from '../support/images.js';
import { instanceIdFor } from '../../src/config/load.js';

let server: TestServer;
let client: InstanceType<typeof Oblien>;

before(async () => {
  await ensureTestImages();
  server = await startServer();
  client = new Oblien({ clientId: ADMIN.clientId, clientSecret: ADMIN.clientSecret, baseUrl: server.url });
});
after(async () => server?.stop());

async function runtime(id: string) {
  await client.workspaces.network.update(id, { public_access: true });
  const { token } = await client.workspaces.apiAccess.enable(id);
  return new Runtime({ token, baseUrl: server.url });
}

async function waitFor(id: string, state: string, ms = 60_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const res = await api(server, 'GET', `/workspace/${id}`);
    if (res.body?.workspace?.status === state) return res.body.workspace;
    if (Date.now() > deadline) throw new Error(`workspace ${id} never reached ${state}: ${res.text}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test('power actions follow the transition table', async () => {
  const ws = await client.workspaces.create({ image: 'debian-12', memory_mb: 128 });
  try {
    const rt = await runtime(ws.id);
    await rt.exec.run(['sh', '-c', 'echo kept > /root/kept.txt']);

    await client.workspaces.pause(ws.id);
    assert.equal((await client.workspaces.get(ws.id)).status, 'paused');
    const blocked = await api(server, 'POST', `/workspace/${ws.id}/start`);
    assert.equal(blocked.status, 409);
    assert.equal(blocked.body.code, 'invalid_state');
    assert.equal(blocked.body.details.current_state, 'paused');
    await assert.rejects(rt.exec.run(['true']), (err: any) => err.status === 409);
    assert.equal((await api(server, 'POST', `/workspace/${ws.id}/pause`)).status, 200, 'pause twice is a no-op');

    await client.workspaces.resume(ws.id);
    assert.equal((await rt.exec.run(['true'])).exit_code, 0);

    await client.workspaces.stop(ws.id);
    const stopped = await client.workspaces.get(ws.id);
    assert.equal(stopped.status, 'stopped');
    assert.equal(stopped.info?.user_requested_stop, true);
    assert.equal((await api(server, 'POST', `/workspace/${ws.id}/stop`)).status, 200, 'stop is safe to repeat');
    assert.equal((await api(server, 'POST', `/workspace/${ws.id}/pause`)).body.details.current_state, 'stopped');

    await client.workspaces.start(ws.id);
    assert.equal((await rt.exec.run(['cat', '/root/kept.txt'])).stdout, 'kept\n');
    await client.workspaces.restart(ws.id);
    assert.equal((await rt.exec.run(['cat', '/root/kept.txt'])).stdout, 'kept\n');

    const lc = await api(server, 'GET', `/workspace/${ws.id}/lifecycle`);
    assert.equal(lc.body.status, 'running');
    assert.equal(lc.body.mode, 'permanent');
  } finally {
    await client.workspaces.delete(ws.id);
  }
});

test('network policy validation and the public_access host keyword', async () => {
  const ws = await client.workspaces.create({ image: 'debian-12', memory_mb: 128 });
  try {
    const bad = async (body: unknown, field: string) => {
      const res = await api(server, 'PATCH', `/workspace/${ws.id}/network`, body);
      assert.equal(res.status, 422, res.text);
      assert.equal(res.body.code, 'validation_error');
      assert.equal(res.body.details.field, field);
    };
    await bad({ ingress_ports: [0] }, 'ingress_ports[0]');
    await bad({ ingress_ports: [70000] }, 'ingress_ports[0]');
    await bad({ egress: Array.from({ length: 51 }, (_, i) => `h${i}.example`) }, 'egress');
    await bad({ egress: ['bad host'] }, 'egress[0]');
    await bad({ public_access: 'yes' }, 'public_access');
    await bad({ egress: ['api.example.com', '10.0.0.0/33'] }, 'egress[1]');
    await bad({ egress: ['under_score..example'] }, 'egress[0]');
    const badIngress = await api(server, 'PUT', `/workspace/${ws.id}/network`, { ingress: ['10.0.0.0/8', 'somewhere'] });
    assert.deepEqual([badIngress.status, badIngress.body.details?.field], [422, 'ingress[1]']);
    const custom = await api(server, 'PATCH', `/workspace/${ws.id}/network`, { outbound_mode: 'custom', custom_proxy: { host: '1.2.3.4', port: 8080 } });
    assert.deepEqual([custom.status, custom.body.code, custom.body.details?.field], [501, 'not_implemented', 'outbound_mode']);
    assert.equal((await api(server, 'PATCH', `/workspace/${ws.id}/network`, { outbound_mode: 'managed' })).status, 200);
    // No outbound IP pool configured on this server.
    assert.deepEqual((await api(server, 'GET', '/zone/mine')).body.proxies, []);
    const noPool = await api(server, 'POST', `/workspace/${ws.id}/network/ip`, { ip: '198.51.100.7' });
    assert.deepEqual([noPool.status, noPool.body.code], [503, 'pool_empty']);
    const noIp = await api(server, 'POST', `/workspace/${ws.id}/network/ip`, {});
    assert.deepEqual([noIp.status, noIp.body.code, noIp.body.details?.field], [400, 'ip_required', 'ip']);

    await api(server, 'PATCH', `/workspace/${ws.id}/network`, { egress: ['10.0.0.0/8'], public_access: true });
    let net = await client.workspaces.network.get(ws.id);
    assert.deepEqual(net.egress, ['10.0.0.0/8']);
    assert.ok(net.ingress.includes('host'));
    assert.equal(net.ip, ws.ip);
    await api(server, 'PATCH', `/workspace/${ws.id}/network`, { allow_internet: false });
    net = await client.workspaces.network.get(ws.id);
    assert.deepEqual(net.egress, []);
    const put = await api(server, 'PUT', `/workspace/${ws.id}/network`, { ingress_ports: [22] });
    assert.equal(put.status, 200);
    net = await client.workspaces.network.get(ws.id);
    assert.equal(net.allow_internet, true, 'PUT resets unspecified fields to defaults');
    assert.equal(net.public_access, false);
  } finally {
    await client.workspaces.delete(ws.id);
  }
});

test('SIGKILL mid-create and with running workspaces: restart reconciles, nothing lost', async () => {
  // A separate server whose sandbox starts are slowed, so the kill lands mid-create.
  const crashy = await startServer({ env: { WARREN_TEST_SLOW_START_MS: '1500' } });
  try {
    const c = new Oblien({ clientId: ADMIN.clientId, clientSecret: ADMIN.clientSecret, baseUrl: crashy.url });
    const running = await c.workspaces.create({ image: 'debian-12', memory_mb: 128, config: { network_config: { public_ingress: true } } });
    const { token } = await c.workspaces.apiAccess.enable(running.id);
    await new Runtime({ token, baseUrl: crashy.url }).exec.run(['sh', '-c', 'sleep 600 >/dev/null 2>&1 & echo $! > /root/sleeper.pid']);

    const pending = fetch(`${crashy.url}/workspace`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-client-id': ADMIN.clientId, 'x-client-secret': ADMIN.clientSecret },
      body: JSON.stringify({ image: 'node-20', name: 'mid-create', config: { memory_mb: 128 } }),
    }).catch(() => null);
    let mid: { id: string; status: string } | undefined;
    for (let i = 0; i < 100 && !mid; i++) {
      await new Promise((r) => setTimeout(r, 20));
      const list = await api(crashy, 'GET', '/workspace?limit=100');
      mid = list.body.workspaces.find((w: { name: string }) => w.name === 'mid-create');
    }
    assert.ok(mid, 'the create was recorded before any side effect');
    assert.equal(mid.status, 'creating');
    await crashy.kill();
    await pending;
    await crashy.restart();

    const list = await api(crashy, 'GET', `/workspace/${mid.id}`);
    assert.equal(list.body.workspace.status, 'running', 'reconcile finished the interrupted create');
    assert.equal(list.body.workspace.ready, true);

    // The workspace that was running kept its processes: its sandbox survived the crash.
    const again = new Runtime({ token: (await c.workspaces.apiAccess.getToken(running.id)).token, baseUrl: crashy.url });
    const alive = await again.exec.run(['sh', '-c', 'kill -0 $(cat /root/sleeper.pid) && echo alive']);
    assert.equal(alive.stdout.trim(), 'alive');

    // Exactly one network namespace per workspace of this instance: no residue, no duplicates.
    const total = (await api(crashy, 'GET', '/workspace?limit=100')).body.total;
    assert.equal(total, 2);
    const prefix = `warren-${instanceIdFor(crashy.dataDir)}-`;
    const netns = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
      .split('\n').filter((l) => l.startsWith(prefix));
    assert.equal(netns.length, total, `one netns per workspace, got ${netns.join(', ')}`);
    for (const w of (await api(crashy, 'GET', '/workspace?limit=100')).body.workspaces) await c.workspaces.delete(w.id);
    const left = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').filter((l) => l.startsWith(prefix));
    assert.deepEqual(left, []);
  } finally {
    await crashy.stop();
  }
});
