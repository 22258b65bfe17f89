/**
 * Workspace logs and metadata through the official library, CLI and MCP server: the boot
 * log (Warren's steps; its stream ends), the cmd log (tail and a following stream), log
 * files and hostile names, clearing, keep_logs: false across a restart; metadata PUT
 * replaces, PATCH merges, bad keys are refused at their field.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { api, startServer, type TestServer } from '../support/warren.js';
import { ensureTestImages } from '../support/images.js';
import { cliHarness } from '../support/cli.js';
import { startMcp } from '../support/mcp.js';
import { adminClient, until, waitForStatus, type Client } from '../support/workspaces.js';

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

const CMD = ['sh', '-c', 'echo CMD-MARK-$(cat /proc/sys/kernel/random/uuid | cut -c1-4); while :; do echo beat; sleep 0.3; done'];

test('boot log: Warren\'s steps, a stream that ends; cmd log: tail and follow; files', async () => {
  const ws = await client.workspaces.create({ image: 'debian-12', memory_mb: 256, config: { cmd: CMD } } as any);
  try {
    await waitForStatus(server, ws.id, 'running');
    const boot: any[] = [];
    for await (const e of client.workspaces.logs.streamBoot(ws.id) as AsyncIterable<any>) boot.push(e);
    const text = boot.map((e) => e.message).join('\n');
    assert.match(text, /Runtime agent answered/);
    assert.match(text, /Boot complete/);
    assert.ok(boot.every((e) => typeof e.timestamp === 'string' && e.line === e.message));
    assert.doesNotMatch(text, /\/var\/|\/tmp\/|warren-[0-9a-f]{4}/, 'no host paths in the boot log');

    const cmd: any = await until('cmd marker', async () => {
      const r: any = await client.workspaces.logs.get(ws.id, { source: 'cmd' } as any);
      return r.logs.some((l: any) => /CMD-MARK/.test(l.message)) && r;
    });
    assert.equal(cmd.source, 'cmd');
    const followed: string[] = [];
    for await (const e of client.workspaces.logs.streamCmd(ws.id, { tail_lines: 5 } as any) as AsyncIterable<any>) {
      followed.push(e.message);
      if (followed.filter((m) => m === 'beat').length >= 8) break;
    }
    const files: any = await client.workspaces.logs.listFiles(ws.id);
    const names = files.map((f: any) => f.name);
    assert.ok(names.includes('boot.log') && names.includes('cmd.log'), JSON.stringify(names));
    const bootFile: any = await client.workspaces.logs.getFile(ws.id, 'boot.log');
    assert.match(bootFile.content, /Boot complete/);
    for (const bad of ['../control/token', '..%2F..%2Fetc%2Fpasswd', '%2Fetc%2Fpasswd', 'nope.log']) {
      const r = await api(server, 'GET', `/workspace/${ws.id}/logs/file/${bad}`);
      assert.equal(r.status, 404, bad);
      assert.doesNotMatch(JSON.stringify(r.body), /root:x:0|[0-9a-f]{64}/);
    }
    const bad = await api(server, 'GET', `/workspace/${ws.id}/logs?source=everything`);
    assert.equal(bad.body.details.field, 'source');
    assert.match(await harness.cli('logs', 'boot', ws.id), /Boot complete/);
    assert.match(await harness.cli('logs', 'files', ws.id), /cmd\.log/);
    const mcp = await startMcp(harness.env());
    try {
      assert.match(JSON.stringify(await mcp.callTool('workspace_logs_boot', { workspace_id: ws.id })), /Boot complete/);
      assert.match(JSON.stringify(await mcp.callTool('workspace_logs', { workspace_id: ws.id })), /CMD-MARK/);
    } finally {
      mcp.close();
    }
    await client.workspaces.logs.clear(ws.id);
    const cleared: any = await client.workspaces.logs.get(ws.id, { source: 'cmd' } as any);
    assert.ok(!cleared.logs.some((l: any) => /CMD-MARK/.test(l.message)), 'cleared');
  } finally {
    await client.workspaces.delete(ws.id);
  }
});

test('keep_logs: false starts every boot with empty logs; true keeps the last boot', async () => {
  for (const keep of [false, true]) {
    const ws = await client.workspaces.create({ image: 'debian-12', memory_mb: 256, config: { cmd: CMD, keep_logs: keep } } as any);
    try {
      await waitForStatus(server, ws.id, 'running');
      const first: string = await until('first marker', async () => {
        const r: any = await client.workspaces.logs.get(ws.id, { source: 'cmd' } as any);
        return r.logs.find((l: any) => /CMD-MARK/.test(l.message))?.message;
      });
      await client.workspaces.restart(ws.id);
      await waitForStatus(server, ws.id, 'running');
      const second: any = await until('second marker', async () => {
        const r: any = await client.workspaces.logs.get(ws.id, { source: 'cmd', tail_lines: 10000 } as any);
        return r.logs.filter((l: any) => /CMD-MARK/.test(l.message) && l.message !== first).length > 0 && r;
      });
      const kept = second.logs.some((l: any) => l.message === first);
      assert.equal(kept, keep, `keep_logs ${keep}`);
      const files: any = await client.workspaces.logs.listFiles(ws.id);
      assert.equal(files.some((f: any) => f.name === 'boot.log.1'), keep);
    } finally {
      await client.workspaces.delete(ws.id);
    }
  }
});

test('metadata: PUT replaces, PATCH merges, keys copied at the top level; bad input names its field', async () => {
  const ws = await client.workspaces.create({ image: 'debian-12', memory_mb: 256 });
  try {
    await client.workspaces.metadata.update(ws.id, { metadata: { team: 'core', env: 'dev' } });
    await client.workspaces.metadata.patch(ws.id, { metadata: { env: 'prod', owner: 'ana' } });
    const got: any = await client.workspaces.metadata.get(ws.id);
    assert.deepEqual(got.metadata, { team: 'core', env: 'prod', owner: 'ana' });
    assert.equal(got.owner, 'ana');
    await client.workspaces.metadata.update(ws.id, { metadata: { only: 'this' } });
    assert.deepEqual(((await client.workspaces.metadata.get(ws.id)) as any).metadata, { only: 'this' });
    await api(server, 'PATCH', `/workspace/${ws.id}/metadata`, { metadata: { only: null, n: 3 } });
    assert.deepEqual(((await client.workspaces.metadata.get(ws.id)) as any).metadata, { n: '3' });
    const badKey = await api(server, 'PUT', `/workspace/${ws.id}/metadata`, { metadata: { 'has space': 'x' } });
    assert.equal(badKey.status, 422);
    assert.equal(badKey.body.details.field, 'metadata.has space');
    const big = await api(server, 'PUT', `/workspace/${ws.id}/metadata`, { metadata: { k: 'x'.repeat(5000) } });
    assert.equal(big.body.details.field, 'metadata.k');
    const many = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v']));
    assert.equal((await api(server, 'PUT', `/workspace/${ws.id}/metadata`, { metadata: many })).body.details.field, 'metadata');
    await harness.cli('metadata', 'set', ws.id, 'a=1', 'b=2');
    assert.match(await harness.cli('metadata', 'get', ws.id), /b.*2/);
  } finally {
    await client.workspaces.delete(ws.id);
  }
});
