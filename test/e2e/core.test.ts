/**
 * The first whole path through every plane, with the unmodified official client:
 * create → public_access → enable → Runtime → exec hostname → delete. Plus the
 * isolation promises that need a real server: two workspaces do not see each
 * other's files or processes; a process over memory_mb is OOM-killed while the
 * server and the other workspace go on.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Oblien, { Runtime } from 'oblien';
import { ADMIN, api, startServer, type TestServer } from '../support/warren.js';
import { ensureTestImages } from '../support/images.js';

let server: TestServer;
let client: InstanceType<typeof Oblien>;

async function runtimeFor(id: string): Promise<InstanceType<typeof Runtime>> {
  await client.workspaces.network.update(id, { public_access: true });
  const { token } = await client.workspaces.apiAccess.enable(id);
  return new Runtime({ token, baseUrl: server.url });
}

before(async () => {
  await ensureTestImages();
  server = await startServer();
  client = new Oblien({ clientId: ADMIN.clientId, clientSecret: ADMIN.clientSecret, baseUrl: server.url });
});

after(async () => {
  await server?.stop();
});

describe('the official client against Warren', () => {
  test('create → enable → exec hostname → delete', async () => {
    const ws = await client.workspaces.create({ image: 'node-20', name: 'core-e2e', memory_mb: 256 });
    assert.match(ws.id, /^ws_[0-9a-f]+$/);
    assert.equal(ws.ready, true);
    assert.equal(ws.info?.status, 'running');
    const rt = await runtimeFor(ws.id);
    assert.equal(await rt.health(), true);
    const res = await rt.exec.run(['hostname']);
    assert.equal(res.exit_code, 0);
    const details = await api(server, 'GET', `/workspace/${ws.id}/details`);
    assert.equal(res.stdout.trim(), details.body.workspace.config.hostname);
    assert.notEqual(res.stdout.trim(), (await import('node:os')).hostname());
    const node = await rt.exec.run(['node', '--version']);
    assert.match(node.stdout, /^v20\./);
    await client.workspaces.delete(ws.id);
    await assert.rejects(client.workspaces.get(ws.id), (err: any) => err.status === 404);
  });

  test('the gateway refuses without public_access, and old tokens after rotate/disable', async () => {
    const ws = await client.workspaces.create({ image: 'node-20', memory_mb: 256 });
    try {
      const { token } = await client.workspaces.apiAccess.enable(ws.id);
      const res = await fetch(`${server.url}/runtime`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(res.status, 403);
      const body = await res.json();
      assert.equal(body.success, false);
      assert.equal(body.code, 'public_access_required');

      await client.workspaces.network.update(ws.id, { public_access: true });
      const rt = new Runtime({ token, baseUrl: server.url });
      assert.equal((await rt.exec.run(['true'])).exit_code, 0);

      const raw = await client.workspaces.apiAccess.rawToken(ws.id);
      const viaRaw = new Runtime({ token: raw.token, baseUrl: server.url });
      assert.equal((await viaRaw.exec.run(['true'])).exit_code, 0);
      const viaQuery = await fetch(`${server.url}/health?token=${encodeURIComponent(token)}`);
      assert.equal(viaQuery.status, 200);

      const rotated = await client.workspaces.apiAccess.rotateToken(ws.id);
      await assert.rejects(rt.exec.run(['true']), (err: any) => err.status === 401);
      await assert.rejects(viaRaw.exec.run(['true']), (err: any) => err.status === 401);
      const fresh = new Runtime({ token: rotated.token, baseUrl: server.url });
      assert.equal((await fresh.exec.run(['true'])).exit_code, 0);

      const long = await api(server, 'POST', `/workspace/${ws.id}/internal-api-access/workspace`);
      assert.equal(long.status, 200);
      assert.equal((await new Runtime({ token: long.body.token, baseUrl: server.url }).exec.run(['true'])).exit_code, 0);

      await client.workspaces.apiAccess.disable(ws.id);
      await assert.rejects(fresh.exec.run(['true']), (err: any) => err.status === 401);
    } finally {
      await client.workspaces.delete(ws.id);
    }
  });

  test('two workspaces cannot see each other\'s files or processes; OOM kills only the offender', async () => {
    const [a, b] = await Promise.all([
      client.workspaces.create({ image: 'node-20', memory_mb: 128 }),
      client.workspaces.create({ image: 'debian-12', memory_mb: 256 }),
    ]);
    try {
      const ra = await runtimeFor(a.id);
      const rb = await runtimeFor(b.id);
      await ra.exec.run(['sh', '-c', 'echo secret-a > /root/a.txt && sleep 300 & echo started']);
      const seeFile = await rb.exec.run(['sh', '-c', 'cat /root/a.txt; find / -name a.txt -xdev 2>/dev/null | head']);
      assert.equal(seeFile.stdout.trim(), '');
      const procs = await rb.exec.run(['sh', '-c', 'ls /proc | grep -E "^[0-9]+$" | while read p; do cat /proc/$p/cmdline 2>/dev/null | tr "\\0" " "; echo; done']);
      assert.ok(!procs.stdout.includes('sleep 300'), 'b must not see a\'s processes');

      // a allocates far beyond its 128 MB: the kernel kills it inside a's cgroup only.
      const oom = await ra.exec.run(['node', '-e', 'const a=[]; for(;;) a.push(Buffer.alloc(16<<20, 1))'], { timeout_seconds: 60 });
      assert.notEqual(oom.exit_code, 0);
      assert.equal((await ra.exec.run(['echo', 'agent survived'])).stdout.trim(), 'agent survived');
      assert.equal((await rb.exec.run(['echo', 'still here'])).stdout.trim(), 'still here');
      const health = await api(server, 'GET', '/workspace/quota');
      assert.equal(health.status, 200);
    } finally {
      await Promise.all([client.workspaces.delete(a.id), client.workspaces.delete(b.id)]);
    }
  });
});
