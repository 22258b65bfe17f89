/**
 * The official `oblien` CLI and `oblien-mcp` server, unmodified, against Warren's
 * control plane (clients.md §5.2: credentials and base URL from the environment,
 * an isolated HOME so ~/.oblien is never the user's).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ADMIN, ROOT, startServer, type TestServer } from '../support/warren.js';
import { ensureTestImages } from '../support/images.js';

const run = promisify(execFile);
const BIN = join(ROOT, 'node_modules', '.bin');
let server: TestServer;
let home: string;

function env() {
  return { ...process.env, HOME: home, OBLIEN_CLIENT_ID: ADMIN.clientId, OBLIEN_CLIENT_SECRET: ADMIN.clientSecret, OBLIEN_BASE_URL: server.url };
}

async function cli(...args: string[]) {
  const { stdout } = await run(join(BIN, 'oblien'), args, { env: env(), timeout: 60_000 });
  return stdout;
}

before(async () => {
  await ensureTestImages();
  server = await startServer();
  home = mkdtempSync(join(tmpdir(), 'warren-cli-home-'));
});
after(async () => {
  await server?.stop();
  rmSync(home, { recursive: true, force: true });
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

test('oblien-mcp: workspace_list over stdio', async () => {
  const mcp = spawn(join(BIN, 'oblien-mcp'), [], { env: env(), stdio: ['pipe', 'pipe', 'inherit'] });
  try {
    const replies = new Map<number, any>();
    let buf = '';
    mcp.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) !== -1) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          const msg = JSON.parse(line);
          if (msg.id !== undefined) replies.set(msg.id, msg);
        } catch {
          // not a JSON-RPC line
        }
      }
    });
    const send = (m: unknown) => mcp.stdin.write(JSON.stringify(m) + '\n');
    const reply = async (id: number) => {
      for (let i = 0; i < 300 && !replies.has(id); i++) await new Promise((r) => setTimeout(r, 50));
      return replies.get(id);
    };
    send({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2024-11-05', capabilities: {}, clientInfo: { name: 'warren-test', version: '1' } } });
    assert.ok(await reply(1));
    send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    send({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'workspace_list', arguments: {} } });
    const res = await reply(2);
    assert.ok(res?.result, JSON.stringify(res));
    assert.notEqual(res.result.isError, true);
    const body = JSON.parse(res.result.content[0].text);
    assert.equal(body.success, true);
    assert.ok(Array.isArray(body.workspaces));
  } finally {
    mcp.kill();
  }
});
