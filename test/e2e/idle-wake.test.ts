/**
 * Idle sleep woken through a public port (Warren's HTTP edge): a request to an exposed
 * port of a sleeping workspace waits for the wake and is answered by the application;
 * after `stop_after` asleep the workspace is stopped, and the next request boots it and
 * is answered once the application (its `cmd`) listens again. Streams in flight keep
 * a workspace awake.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { api, startServer, type TestServer } from '../support/warren.js';
import { ensureTestImages } from '../support/images.js';
import { adminClient, waitForStatus, type Client } from '../support/workspaces.js';

let server: TestServer;
let client: Client;

const APP = 'require("http").createServer((q, s) => s.end("hello from " + process.pid)).listen(8080, "0.0.0.0")';

before(async () => {
  await ensureTestImages(['node-20']);
  server = await startServer({ env: { WARREN_IDLE_MIN_SECONDS: '1', WARREN_IDLE_MIN_STOP_SECONDS: '2' } });
  client = adminClient(server);
});
after(async () => server?.stop());

async function appWorkspace() {
  const res = await api(server, 'POST', '/workspace', { image: 'node-20', config: { memory_mb: 256, cmd: ['node', '-e', APP] } });
  assert.equal(res.status, 201, res.text);
  const ws = res.body.workspace;
  const port = await client.workspaces.publicAccess.expose(ws.id, { port: 8080 });
  const url = `${server.url}/p/${port.hash}/`;
  for (let i = 0; i < 100 && (await fetch(url).then((r) => r.status, () => 0)) !== 200; i++) await new Promise((r) => setTimeout(r, 100));
  return { ws, url };
}

test('a sleeping workspace is woken by a request to its public port, which is answered', async () => {
  const { ws, url } = await appWorkspace();
  try {
    const pid = (await (await fetch(url)).text()).replace('hello from ', '');
    await client.workspaces.lifecycle.setIdle(ws.id, { suspend_after: 1 });
    await waitForStatus(server, ws.id, 'paused', 15_000);
    const t0 = performance.now();
    const res = await fetch(url);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), `hello from ${pid}`, 'the same process answers: memory was kept');
    console.log(`# edge wake of a paused workspace: ${(performance.now() - t0).toFixed(1)} ms`);
    assert.equal((await client.workspaces.get(ws.id)).status, 'running');
  } finally {
    await client.workspaces.delete(ws.id);
  }
});

test('after stop_after asleep it is stopped; a request boots it and waits for the application', async () => {
  const { ws, url } = await appWorkspace();
  try {
    await client.workspaces.lifecycle.setIdle(ws.id, { suspend_after: 1, stop_after: 2 });
    const stopped = await waitForStatus(server, ws.id, 'stopped', 20_000);
    assert.equal(stopped.lifecycle.sleeping, true);
    const res = await fetch(url);
    assert.equal(res.status, 200, await res.clone().text());
    assert.match(await res.text(), /^hello from \d+$/);
    assert.equal((await client.workspaces.get(ws.id)).status, 'running');
    await client.workspaces.lifecycle.setIdle(ws.id, null);
    await client.workspaces.stop(ws.id);
    const refused = await fetch(url);
    assert.equal(refused.status, 409, 'a workspace stopped by its owner is not woken');
  } finally {
    await client.workspaces.delete(ws.id);
  }
});

test('a stream in flight keeps the workspace awake', async () => {
  const { ws } = await appWorkspace();
  try {
    await client.workspaces.network.update(ws.id, { public_access: true });
    const { token } = await client.workspaces.apiAccess.enable(ws.id);
    await client.workspaces.lifecycle.setIdle(ws.id, { suspend_after: 1 });
    const res = await fetch(`${server.url}/exec`, {
      method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ cmd: ['sleep', '3'] }),
    });
    assert.equal(res.status, 200);
    assert.equal((await client.workspaces.get(ws.id)).status, 'running', 'it slept during a 3 s exec');
    await waitForStatus(server, ws.id, 'paused', 15_000);
  } finally {
    await client.workspaces.delete(ws.id);
  }
});
