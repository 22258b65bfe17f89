/**
 * The official `oblien` CLI and `oblien-mcp` server, unmodified, against Warren's
 * control plane (clients.md §5.2: credentials and base URL from the environment,
 * an isolated HOME so ~/.oblien is never the user's).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../support/warren.js';
import { ensureTestImages } from '../support/images.js';
import { startMcp } from '../support/mcp.js';
import { cliHarness } from '../support/cli.js';
import { SERVER_FAULT_MESSAGES } from '../../src/contract/envelope.js';

let server: TestServer;
const harness = cliHarness(() => server);
const { cli, env } = harness;

before(async () => {
  await ensureTestImages();
  server = await startServer();
});
after(async () => {
  await server?.stop();
  harness.cleanup();
});

test('oblien CLI: create, list, power, api-access, delete', async () => {
  const created = JSON.parse(await cli('ws', 'create', '--image', 'debian-12', '--name', 'cli-ws', '--memory', '128', '--json'));
  const id = created.id ?? created.workspace?.id;
  assert.match(id, /^ws_/);
  const list = JSON.parse(await cli('ws', 'list', '--json'));
  assert.ok(list.workspaces.some((w: { id: string }) => w.id === id));
  await cli('ws', 'pause', id);
  await assert.rejects(cli('ws', 'start', id), /409/);
  await cli('ws', 'resume', id);
  assert.match(await cli('api-access', 'enable', id), /^eyJ[\w-]+\.[\w-]+\.[\w-]+$/m);
  await cli('ws', 'delete', id);
  assert.ok(!JSON.parse(await cli('ws', 'list', '--json')).workspaces.some((w: { id: string }) => w.id === id));
});

test('oblien CLI and MCP: network get / update', async () => {
  const created = JSON.parse(await cli('ws', 'create', '--image', 'debian-12', '--name', 'cli-net', '--memory', '128', '--json'));
  const id = created.id ?? created.workspace?.id;
  try {
    await cli('network', 'update', id, '--no-allow-internet', '--ingress-ports', '80,443');
    const net = JSON.parse(await cli('network', 'get', id, '--json'));
    assert.equal(net.allow_internet, false);
    assert.deepEqual(net.ingress_ports, [80, 443]);
    const mcp = await startMcp(env());
    try {
      const upd = await mcp.callTool('workspace_network_update', { workspace_id: id, allow_internet: true, egress: ['api.example.com'] }, 15_000);
      assert.notEqual(upd?.result?.isError, true, JSON.stringify(upd));
      const got = await mcp.callTool('workspace_network_get', { workspace_id: id }, 15_000);
      const body = JSON.parse(got.result.content[0].text);
      assert.deepEqual([body.allow_internet, body.egress], [true, ['api.example.com']]);
      const ip = await mcp.callTool('workspace_network_ip', { workspace_id: id, ip: '198.51.100.7' }, 15_000);
      assert.equal(ip?.result?.isError, true, JSON.stringify(ip));
      // pool_empty is a 503: its fixed public sentence (src/contract/envelope.ts) is what reaches the caller.
      assert.ok(ip.result.content[0].text.includes(SERVER_FAULT_MESSAGES.pool_empty!), `the documented error reaches the MCP caller: ${ip.result.content[0].text}`);
    } finally {
      mcp.close();
    }
  } finally {
    await cli('ws', 'delete', id);
  }
});

test('oblien-mcp: workspace_list over stdio', async () => {
  const mcp = await startMcp(env());
  try {
    const res = await mcp.callTool('workspace_list', {}, 15_000);
    assert.ok(res?.result, JSON.stringify(res));
    assert.notEqual(res.result.isError, true);
    const body = JSON.parse(res.result.content[0].text);
    assert.equal(body.success, true);
    assert.ok(Array.isArray(body.workspaces));
  } finally {
    mcp.close();
  }
});
