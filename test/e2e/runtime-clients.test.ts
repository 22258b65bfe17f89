/**
 * The runtime API through real Warren with the unmodified official tools:
 * - `oblien` CLI runtime commands (exec, files, ws health). The CLI always talks to the
 *   hard-coded https://workspace.oblien.com; test/support/runtime-redirect.mjs
 *   (clients.md §5.3), preloaded with NODE_OPTIONS=--import, sends that to this server.
 * - `oblien-mcp`: it has no runtime tool (clients.md §7), so the runtime-related tool
 *   `workspace_api_access_token` is driven over stdio and its token used with `Runtime`.
 * - the reverse proxy (runtime.md §11): an HTTP service started inside a node-20
 *   workspace, reached with the SDK's `rt.proxy(port).fetch`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Oblien, { Runtime } from 'oblien';
import { ADMIN, ROOT, startServer, type TestServer } from '../support/warren.js';
import { ensureTestImages } from '../support/images.js';
import { startMcp } from '../support/mcp.js';

const run = promisify(execFile);
const BIN = join(ROOT, 'node_modules', '.bin');
const SHIM = join(ROOT, 'test', 'support', 'runtime-redirect.mjs');
let server: TestServer;
let client: InstanceType<typeof Oblien>;
let home: string;
let wsId: string;

function env(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    HOME: home,
    NODE_OPTIONS: `--import ${SHIM}`,
    OBLIEN_RUNTIME_URL: server.url,
    OBLIEN_CLIENT_ID: ADMIN.clientId,
    OBLIEN_CLIENT_SECRET: ADMIN.clientSecret,
    OBLIEN_BASE_URL: server.url,
  };
}

async function cli(...args: string[]): Promise<string> {
  const { stdout } = await run(join(BIN, 'oblien'), args, { env: env(), timeout: 60_000 });
  return stdout;
}

before(async () => {
  await ensureTestImages(['node-20']);
  server = await startServer();
  home = mkdtempSync(join(tmpdir(), 'warren-rtcli-home-'));
  client = new Oblien({ clientId: ADMIN.clientId, clientSecret: ADMIN.clientSecret, baseUrl: server.url });
  const ws = await client.workspaces.create({ image: 'node-20', name: 'rt-clients', memory_mb: 256 });
  wsId = ws.id;
  await client.workspaces.network.update(wsId, { public_access: true });
});

after(async () => {
  await server?.stop();
  if (home) rmSync(home, { recursive: true, force: true });
});

describe('oblien CLI runtime commands through the redirect shim', () => {
  test('the shim sends workspace.oblien.com to the test server', async () => {
    const script = "fetch('https://workspace.oblien.com/health').then(async (r) => console.log(r.status, await r.text()))";
    const { stdout } = await run(process.execPath, ['-e', script], { env: env(), timeout: 20_000 });
    assert.match(stdout, /^200 .*"status":"ok"/);
  });

  test('oblien exec <ws> -- echo hi', async () => {
    const out = await cli('exec', wsId, '--', 'echo', 'hi');
    assert.match(out, /\bhi\b/);
    const json = JSON.parse(await cli('exec', wsId, '--json', '--', 'sh', '-c', 'echo out; echo err >&2; exit 3'));
    assert.equal(json.stdout, 'out\n');
    assert.equal(json.stderr, 'err\n');
    assert.equal(json.exit_code, 3);
  });

  test('oblien files write / cat / ls / stat', async () => {
    await cli('files', 'write', wsId, '/tmp/cli/hello.txt', '--content', 'hello from the cli');
    assert.match(await cli('files', 'cat', wsId, '/tmp/cli/hello.txt'), /hello from the cli/);
    const listed = JSON.parse(await cli('files', 'ls', wsId, '/tmp/cli', '--json'));
    assert.ok(listed.entries.some((e: { name: string }) => e.name === 'hello.txt'), JSON.stringify(listed));
    const human = await cli('files', 'ls', wsId, '/tmp/cli');
    assert.match(human, /hello\.txt/);
  });

  test('oblien ws health', async () => {
    assert.match(await cli('ws', 'health', wsId), /✓ Healthy/);
    assert.deepEqual(JSON.parse(await cli('ws', 'health', wsId, '--json')), { healthy: true });
  });
});

describe('oblien-mcp', () => {
  test('workspace_api_access_token over stdio gives a token the runtime accepts', async () => {
    await client.workspaces.apiAccess.enable(wsId);
    const { NODE_OPTIONS: _n, OBLIEN_RUNTIME_URL: _r, ...mcpEnv } = env(); // the MCP never uses the runtime host
    const mcp = await startMcp(mcpEnv, 20_000);
    try {
      const res = await mcp.callTool('workspace_api_access_token', { workspace_id: wsId }, 20_000);
      assert.ok(res?.result, JSON.stringify(res));
      assert.notEqual(res.result.isError, true, JSON.stringify(res.result));
      const body = JSON.parse(res.result.content[0].text);
      assert.equal(typeof body.token, 'string');
      const rt = new Runtime({ token: body.token, baseUrl: server.url });
      const echoed = await rt.exec.run(['echo', 'via-mcp-token']);
      assert.equal(echoed.stdout, 'via-mcp-token\n');
    } finally {
      mcp.close();
    }
  });
});

/** A tiny HTTP + SSE service run inside the workspace on 127.0.0.1:PORT. */
const SERVICE = `require('http').createServer((q, s) => {
  if (q.url === '/sse') { s.writeHead(200, {'content-type': 'text/event-stream'}); s.write('data: one\\n\\n'); setTimeout(() => s.end('data: two\\n\\n'), 300); return; }
  let n = 0; q.on('data', (c) => n += c.length);
  q.on('end', () => { s.setHeader('x-service', 'inside'); s.end(JSON.stringify({ url: q.url, method: q.method, auth: q.headers.authorization || null, n })); });
}).listen(Number(process.argv[1]), '127.0.0.1')`;

describe('reverse proxy through real Warren', () => {
  test('rt.proxy(port).fetch reaches a service inside the workspace', async () => {
    const { token } = await client.workspaces.apiAccess.enable(wsId);
    const rt = new Runtime({ token, baseUrl: server.url });
    const port = 18080 + Math.floor(Math.random() * 1000);
    const started = await rt.exec.run(['sh', '-c', `node -e "$0" ${port} > /tmp/svc.log 2>&1 &`, SERVICE], { execMode: 'direct' });
    assert.equal(started.exit_code, 0, JSON.stringify(started));
    const proxy = rt.proxy(port);
    let res: Response | null = null;
    for (let i = 0; i < 50; i++) {
      res = await proxy.fetch('/api/x?y=1');
      if (res.status === 200) break;
      await res.arrayBuffer();
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(res?.status, 200);
    assert.equal(res!.headers.get('x-service'), 'inside');
    const body = (await res!.json()) as any;
    assert.deepEqual(body, { url: '/api/x?y=1', method: 'GET', auth: null, n: 0 });

    const posted = (await (await proxy.fetch('/up', { method: 'POST', body: 'x'.repeat(100_000) })).json()) as any;
    assert.equal(posted.n, 100_000);

    const sse = await proxy.fetch('/sse');
    const reader = sse.body!.getReader();
    assert.match(Buffer.from((await reader.read()).value!).toString(), /data: one/);
    let rest = '';
    for (let r = await reader.read(); !r.done; r = await reader.read()) rest += Buffer.from(r.value).toString();
    assert.match(rest, /data: two/);

    const dead = await rt.proxy(port + 1).fetch('/');
    assert.equal(dead.status, 502);
    assert.equal(((await dead.json()) as any).success, false);
  });
});
