/**
 * `oblien snapshots …`, `oblien lifecycle …` and the MCP's snapshot, archive and
 * lifecycle tools, unmodified, against a real server.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { api, startServer, type TestServer } from '../support/warren.js';
import { ensureTestImages } from '../support/images.js';
import { cliHarness } from '../support/cli.js';
import { startMcp } from '../support/mcp.js';
import { adminClient, openRuntime, type Client } from '../support/workspaces.js';

let server: TestServer;
let client: Client;
const harness = cliHarness(() => server);
const { cli } = harness;

before(async () => {
  await ensureTestImages(['debian-12']);
  server = await startServer({ env: { WARREN_IDLE_MIN_SECONDS: '60' } });
  client = adminClient(server);
});
after(async () => {
  await server?.stop();
  harness.cleanup();
});

test('oblien snapshots: create, restore, create-archive, archives, get-archive, delete-archive, delete-all-archives', async () => {
  const ws = await client.workspaces.create({ image: 'debian-12', memory_mb: 128 });
  try {
    const rt = await openRuntime(client, server, ws.id);
    await rt.exec.run(['sh', '-c', 'echo one > /root/v']);
    const snap = JSON.parse(await cli('snapshots', 'create', ws.id, '--json'));
    assert.equal(snap.snapshot.mode, 'filesystem');
    await rt.exec.run(['sh', '-c', 'echo two > /root/v']);
    assert.match(await cli('snapshots', 'restore', ws.id), /Restored snapshot/);
    assert.equal((await rt.exec.run(['cat', '/root/v'])).stdout, 'one\n');
    const stopped = JSON.parse(await cli('snapshots', 'create', ws.id, '--after', 'stop', '--json'));
    assert.equal(stopped.workspace.status, 'stopped');
    await client.workspaces.start(ws.id);
    const arch = JSON.parse(await cli('snapshots', 'create-archive', ws.id, '--version', 'cli-1', '--json'));
    assert.equal(arch.version, 'cli-1');
    await cli('snapshots', 'create-archive', ws.id);
    const list = JSON.parse(await cli('snapshots', 'archives', ws.id, '--json'));
    assert.deepEqual(list.map((a: { version: string }) => a.version), ['cli-1', 'v1']);
    const one = JSON.parse(await cli('snapshots', 'get-archive', ws.id, 'cli-1', '--json'));
    assert.match(one.sha256, /^[0-9a-f]{64}$/);
    assert.match(await cli('snapshots', 'delete-archive', ws.id, 'cli-1', '--delete-file'), /Deleted archive cli-1/);
    const all = JSON.parse(await cli('snapshots', 'delete-all-archives', ws.id, '--json'));
    assert.deepEqual(all.deleted, ['v1']);
  } finally {
    await client.workspaces.delete(ws.id);
  }
});

test('oblien lifecycle: get, make-temporary, update-ttl, make-permanent, idle, destroy', async () => {
  const ws = await client.workspaces.create({ image: 'debian-12', memory_mb: 128 });
  try {
    assert.equal(JSON.parse(await cli('lifecycle', 'get', ws.id, '--json')).mode, 'permanent');
    await cli('lifecycle', 'make-temporary', ws.id, '--ttl', '1h', '--ttl-action', 'stop');
    let lc = JSON.parse(await cli('lifecycle', 'get', ws.id, '--json'));
    assert.deepEqual([lc.mode, lc.ttl, lc.ttl_action], ['temporary', 3600, 'stop']);
    assert.ok(lc.expires_at);
    await cli('lifecycle', 'update-ttl', ws.id, '--ttl', '2h', '--ttl-action', 'suspend');
    lc = JSON.parse(await cli('lifecycle', 'get', ws.id, '--json'));
    assert.deepEqual([lc.ttl, lc.ttl_action], [7200, 'suspend']);
    await cli('lifecycle', 'make-permanent', ws.id);
    lc = JSON.parse(await cli('lifecycle', 'get', ws.id, '--json'));
    assert.deepEqual([lc.mode, lc.ttl, lc.expires_at], ['permanent', null, null]);
    assert.match(await cli('lifecycle', 'idle', ws.id, '--after', '2m'), /Sleep/);
    assert.deepEqual(JSON.parse(await cli('lifecycle', 'get', ws.id, '--json')).idle, { suspend_after: 120, stop_after: 0 });
    await assert.rejects(cli('lifecycle', 'idle', ws.id, '--after', '30s'), /at least 60 seconds/);
    await cli('lifecycle', 'idle', ws.id, '--disable');
    assert.equal(JSON.parse(await cli('lifecycle', 'get', ws.id, '--json')).idle, null);
    assert.match(await cli('lifecycle', 'destroy', ws.id), /Destroyed/);
    assert.equal((await client.workspaces.get(ws.id)).status, 'archived');
    const short = await api(server, 'POST', '/workspace', { image: 'debian-12', config: { idle: { suspend_after: 30 } } });
    assert.equal(short.status, 422, 'a create-time idle policy below the minimum');
    assert.equal(short.body.details.field, 'suspend_after');
    const temp = await api(server, 'POST', '/workspace', { image: 'debian-12', mode: 'temporary', config: { idle: { suspend_after: 600 } } });
    assert.equal(temp.body.code, 'idle_not_allowed');
  } finally {
    await client.workspaces.delete(ws.id);
  }
});

test('oblien-mcp: snapshot, archive and lifecycle tools', async () => {
  const ws = await client.workspaces.create({ image: 'debian-12', memory_mb: 128 });
  const mcp = await startMcp(harness.env());
  const call = async (name: string, args: Record<string, unknown>) => {
    const res = await mcp.callTool(name, { workspace_id: ws.id, ...args }, 30_000);
    assert.notEqual(res?.result?.isError, true, `${name}: ${JSON.stringify(res)}`);
    return JSON.parse(res.result.content[0].text);
  };
  try {
    assert.equal((await call('workspace_snapshot_create', {})).snapshot.mode, 'filesystem');
    assert.equal((await call('workspace_snapshot_restore', {})).restored.source, 'snapshot');
    assert.equal((await call('workspace_archive_create', {})).version, 'v1');
    assert.deepEqual((await call('workspace_archive_list', {})).map((a: { version: string }) => a.version), ['v1']);
    assert.equal((await call('workspace_archive_get', { version: 'v1' })).status, 'ready');
    await call('workspace_archive_delete', { version: 'v1', delete_file: true });
    assert.equal((await call('workspace_lifecycle_temporary', { ttl: '30m' })).ttl, 1800);
    assert.equal((await call('workspace_ping', { ttl_seconds: 900 })).ttl, 900);
    assert.equal((await call('workspace_lifecycle_get', {})).snapshot_supported, true);
    await call('workspace_lifecycle_destroy', {});
    assert.equal((await client.workspaces.get(ws.id)).status, 'archived');
  } finally {
    mcp.close();
    await client.workspaces.delete(ws.id);
  }
});
