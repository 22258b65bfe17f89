/**
 * Resources on a running workspace through the official library, CLI and MCP server:
 * a memory limit change is visible in the workspace's own cgroup and enforced (a
 * process over the new limit is killed), the disk grows online and the space is
 * usable, a smaller disk and limits beyond the plan are refused with their codes, and
 * the MCP's overlay tools answer from the same code.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { api, startServer, type TestServer } from '../support/warren.js';
import { ensureTestImages } from '../support/images.js';
import { cliHarness } from '../support/cli.js';
import { startMcp } from '../support/mcp.js';
import { adminClient, openRuntime, type Client } from '../support/workspaces.js';

const MiB = 1024 * 1024;
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

test('memory: a live change is visible in the cgroup and enforced; below current use is refused', async () => {
  const ws = await client.workspaces.create({ image: 'debian-12', memory_mb: 512 });
  try {
    const rt = await openRuntime(client, server, ws.id);
    const grab = ['sh', '-c', 'dd if=/dev/zero of=/dev/null bs=300M count=1 2>/dev/null; echo rc=$?'];
    assert.equal((await rt.exec.run(grab)).stdout, 'rc=0\n');
    const res: any = await client.workspaces.resources.update(ws.id, { memory_mb: 256 });
    assert.deepEqual(res.resources, { cpus: 1, memory_mb: 256, disk_size_mb: 512 });
    assert.equal(res.applied, true);
    assert.equal((await rt.exec.run(['cat', '/sys/fs/cgroup/memory/memory.limit_in_bytes'])).stdout, `${256 * MiB}\n`);
    assert.match((await rt.exec.run(grab)).stdout, /rc=(137|1)\n/, 'a process over the new limit survived');
    const cpu: any = await client.workspaces.resources.patch(ws.id, { cpus: 2 });
    assert.equal(cpu.resources.cpus, 2);
    assert.equal((await rt.exec.run(['cat', '/sys/fs/cgroup/cpu/cpu.cfs_quota_us'])).stdout, '200000\n');
    await rt.exec.run(['sh', '-c', '(dd if=/dev/zero bs=200M count=1 | sleep 30) >/dev/null 2>&1 &']);
    await new Promise((r) => setTimeout(r, 1000));
    const tooSmall = await api(server, 'PUT', `/workspace/${ws.id}/resources`, { memory_mb: 128 });
    assert.equal(tooSmall.status, 409);
    assert.equal(tooSmall.body.code, 'memory_in_use');
    assert.equal(tooSmall.body.details.field, 'memory_mb');
    assert.equal((await client.workspaces.resources.get(ws.id) as any).resources.memory_mb, 256, 'a refused change is not stored');
  } finally {
    await client.workspaces.delete(ws.id);
  }
});

test('disk: grows online and the space is usable; shrinking and plan overruns are refused', async () => {
  const ws = await client.workspaces.create({ image: 'debian-12', memory_mb: 256, disk_size_mb: 128 });
  try {
    const rt = await openRuntime(client, server, ws.id);
    const fill = ['sh', '-c', 'dd if=/dev/zero of=/root/big bs=1M count=200 2>&1; echo rc=$?'];
    assert.match((await rt.exec.run(fill)).stdout, /No space left on device/);
    await client.workspaces.resources.update(ws.id, { disk_size_mb: 512 });
    assert.match((await rt.exec.run(['sh', '-c', `rm /root/big; ${fill[2]}`])).stdout, /rc=0/);
    const df = (await rt.exec.run(['sh', '-c', 'df -k / | tail -1'])).stdout.trim().split(/\s+/);
    const quota = (Number(df[2]) + Number(df[3])) / 1024;
    assert.ok(quota > 480 && quota <= 512, `used + available is ${quota} MiB`);
    const shrink = await api(server, 'PATCH', `/workspace/${ws.id}/resources`, { disk_size_mb: 256 });
    assert.equal(shrink.status, 409);
    assert.equal(shrink.body.code, 'disk_shrink_not_supported');
    assert.equal(shrink.body.details.field, 'disk_size_mb');
    const huge = await api(server, 'PUT', `/workspace/${ws.id}/resources`, { cpus: 64 });
    assert.equal(huge.status, 403);
    assert.equal(huge.body.code, 'RESOURCE_NOT_ALLOWED');
    assert.equal(huge.body.details.field, 'cpus');
    const junk = await api(server, 'PUT', `/workspace/${ws.id}/resources`, { memory_mb: 'lots' });
    assert.equal(junk.body.details.field, 'memory_mb');
    const empty = await api(server, 'PUT', `/workspace/${ws.id}/resources`, {});
    assert.equal(empty.status, 422);
  } finally {
    await client.workspaces.delete(ws.id);
  }
});

test('apply: false stores the change for the next start', async () => {
  const ws = await client.workspaces.create({ image: 'debian-12', memory_mb: 256 });
  try {
    const rt = await openRuntime(client, server, ws.id);
    const res: any = await client.workspaces.resources.update(ws.id, { memory_mb: 384, apply: false });
    assert.equal(res.applied, false);
    assert.equal((await rt.exec.run(['cat', '/sys/fs/cgroup/memory/memory.limit_in_bytes'])).stdout, `${256 * MiB}\n`);
    await client.workspaces.restart(ws.id);
    assert.equal((await rt.exec.run(['cat', '/sys/fs/cgroup/memory/memory.limit_in_bytes'])).stdout, `${384 * MiB}\n`);
  } finally {
    await client.workspaces.delete(ws.id);
  }
});

test('oblien ws resources (get, update, --patch) and the MCP overlay tools', async () => {
  const ws = await client.workspaces.create({ image: 'debian-12', memory_mb: 256 });
  try {
    const rt = await openRuntime(client, server, ws.id);
    await rt.exec.run(['sh', '-c', 'mkdir -p /srv/data && echo hi > /srv/data/x && rm /etc/motd']);
    const got = JSON.parse(await harness.cli('ws', 'resources', ws.id, '--json'));
    assert.equal(got.resources.memory_mb, 256);
    const upd = JSON.parse(await harness.cli('ws', 'resources', ws.id, '--memory', '320', '--json'));
    assert.equal(upd.resources.memory_mb, 320);
    const patched = JSON.parse(await harness.cli('ws', 'resources', ws.id, '--disk', '1024', '--patch', '--json'));
    assert.deepEqual(patched.resources, { cpus: 1, memory_mb: 320, disk_size_mb: 1024 });
    const mcp = await startMcp(harness.env());
    try {
      const list = await mcp.callTool('workspace_disk_list', { workspace_id: ws.id });
      const files = JSON.parse(list.result.content[0].text).files as Array<{ path: string; type: string }>;
      assert.ok(files.some((f) => f.path === '/srv/data/x' && f.type === 'file'), JSON.stringify(files));
      assert.ok(files.some((f) => f.path === '/etc/motd' && f.type === 'deleted'));
      const usage = JSON.parse((await mcp.callTool('workspace_disk_usage', { workspace_id: ws.id })).result.content[0].text);
      assert.equal(usage.usage.size_mb, 1024);
      const resized = await mcp.callTool('workspace_disk_resize', { workspace_id: ws.id, size_mb: 2048 });
      assert.equal(JSON.parse(resized.result.content[0].text).resources.disk_size_mb, 2048);
      const shrink = await mcp.callTool('workspace_disk_resize', { workspace_id: ws.id, size_mb: 100 });
      assert.equal(shrink.result.isError, true);
      const synced = JSON.parse((await mcp.callTool('workspace_disk_sync', { workspace_id: ws.id })).result.content[0].text);
      assert.equal(synced.synced, true);
    } finally {
      mcp.close();
    }
  } finally {
    await client.workspaces.delete(ws.id);
  }
});
