/**
 * Warren's limits on its one listening socket (issue 15, limits), against a real server
 * started with small values: the per-client connection cap (429 rate_limited), a slow-loris
 * (408 request_timeout), a control-plane body that stalls (408, field body) or is declared
 * too large (413 unread), a runtime body past the gateway's cap (413 unread, before any
 * token is checked), idle keep-alive connections closed, the SSH jump host dropping a
 * client that never finishes its handshake — and an exec stream through the gateway that
 * outlives every timeout, with output, not cut.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { ADMIN, startServer, type TestServer } from '../support/warren.js';
import { ensureTestImages } from '../support/images.js';
import { freePort } from '../support/ssh.js';
import { adminClient, openRuntime, type Client } from '../support/workspaces.js';
import { endlessBody, openRaw, sleep, slowLoris } from '../support/raw-http.js';

const CAP = 4;
const HEADERS_MS = 800;
const BODY_IDLE_MS = 800;
const KEEP_ALIVE_MS = 800;
const SSH_HANDSHAKE_MS = 800;
let server: TestServer;
let client: Client;
let sshPort: number;
let workspaceId: string | undefined;

before(async () => {
  await ensureTestImages();
  sshPort = await freePort();
  server = await startServer({
    env: {
      WARREN_MAX_CONNECTIONS_PER_CLIENT: String(CAP),
      WARREN_HEADERS_TIMEOUT_MS: String(HEADERS_MS),
      WARREN_BODY_IDLE_TIMEOUT_MS: String(BODY_IDLE_MS),
      WARREN_KEEP_ALIVE_TIMEOUT_MS: String(KEEP_ALIVE_MS),
      WARREN_SSH_HANDSHAKE_TIMEOUT_MS: String(SSH_HANDSHAKE_MS),
      WARREN_SSH_PORT: String(sshPort),
    },
  });
  client = adminClient(server);
});
after(async () => {
  try {
    if (workspaceId) await client.workspaces.delete(workspaceId);
  } finally {
    await server?.stop();
  }
});

const auth = `X-Client-Id: ${ADMIN.clientId}\r\nX-Client-Secret: ${ADMIN.clientSecret}\r\n`;

// First, while this process holds no pooled connection to the server.
test('past the per-client connection cap a request is answered 429 rate_limited and the connection closed', async (t) => {
  const t0 = Date.now();
  const held = await Promise.all(Array.from({ length: CAP }, () => openRaw(server.port)));
  const extra = await openRaw(server.port);
  extra.write('GET /workspace HTTP/1.1\r\nHost: x\r\n' + auth + '\r\n');
  const res = await extra.firstResponse(5_000);
  assert.equal(res.status, 429);
  assert.equal(res.body.code, 'rate_limited');
  assert.equal(res.body.details.limit, CAP);
  assert.ok((await extra.closed) < 5_000);
  t.diagnostic(`429 after ${Date.now() - t0} ms`);
  // one of the held connections is served, and once it closes a new connection is admitted
  held[0]!.write('GET /workspace HTTP/1.1\r\nHost: x\r\n' + auth + 'Connection: close\r\n\r\n');
  assert.equal((await held[0]!.firstResponse(5_000)).status, 200);
  await held[0]!.closed;
  for (const h of held.slice(1)) h.destroy();
  await sleep(100);
  const again = await openRaw(server.port);
  again.write('GET /workspace HTTP/1.1\r\nHost: x\r\n' + auth + 'Connection: close\r\n\r\n');
  assert.equal((await again.firstResponse(5_000)).status, 200);
  t.diagnostic(`done after ${Date.now() - t0} ms`);
});

test('a slow-loris is answered 408 request_timeout and dropped', async () => {
  const loris = await slowLoris(server.port, '/workspace');
  assert.ok(loris.closedAfterMs < HEADERS_MS * 3 + 1_000, `dropped after ${loris.closedAfterMs} ms`);
  assert.match(loris.received, /^HTTP\/1\.1 408 /);
  assert.match(loris.received, /"code":"request_timeout"/);
});

test('a control-plane body that stalls (JSON or an upload) is 408 request_timeout (field body); one declared too large or endless is 413', async () => {
  const stalled = await openRaw(server.port);
  stalled.write('POST /workspace HTTP/1.1\r\nHost: x\r\n' + auth + 'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"image":');
  const res = await stalled.firstResponse(BODY_IDLE_MS * 3 + 2_000);
  assert.equal(res.status, 408);
  assert.equal(res.body.code, 'request_timeout');
  assert.equal(res.body.details.field, 'body');
  assert.ok((await stalled.closed) < BODY_IDLE_MS * 3 + 3_000);

  const big = await openRaw(server.port);
  big.write('POST /workspace HTTP/1.1\r\nHost: x\r\n' + auth + `Content-Type: application/json\r\nContent-Length: ${2 * 1024 * 1024}\r\n\r\n{`);
  const refused = await big.firstResponse(5_000);
  assert.equal(refused.status, 413);
  assert.deepEqual([refused.body.code, refused.body.details.field, refused.body.details.limit], ['payload_too_large', 'body', 1024 * 1024]);
  big.destroy();

  // a streamed upload (image archive) that stalls
  const upload = await openRaw(server.port);
  upload.write('POST /images?name=stalled HTTP/1.1\r\nHost: x\r\n' + auth + 'Content-Type: application/x-tar\r\nContent-Length: 100000\r\n\r\n' + 'x'.repeat(512));
  const uploadRes = await upload.firstResponse(BODY_IDLE_MS * 3 + 5_000);
  assert.equal(uploadRes.status, 408, JSON.stringify(uploadRes.body));
  assert.deepEqual([uploadRes.body.code, uploadRes.body.details.field], ['request_timeout', 'body']);
  upload.destroy();

  // an endless body (the finding: read whole before its size was checked)
  const endless = await openRaw(server.port);
  endless.write('POST /workspace HTTP/1.1\r\nHost: x\r\n' + auth + 'Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n');
  const { response, sent } = await endlessBody(endless, 64 * 1024, 2);
  assert.equal(response.status, 413);
  assert.equal(response.body.code, 'payload_too_large');
  assert.ok(sent <= 16 + 40, `answered after ${sent} chunks of 64 KiB`);
  assert.ok((await endless.closed) < 10_000, 'the connection is closed after a bounded drain');
});

test('a runtime body past the gateway cap is refused unread, before the token is checked', async () => {
  const conn = await openRaw(server.port);
  conn.write(`POST /exec HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer not-a-token\r\nContent-Length: ${17 * 1024 * 1024}\r\n\r\n`);
  const res = await conn.firstResponse(5_000);
  assert.equal(res.status, 413);
  assert.deepEqual([res.body.code, res.body.details.field, res.body.details.limit], ['payload_too_large', 'body', 16 * 1024 * 1024]);
  assert.ok((await conn.closed) < 5_000);
});

test('idle connections are closed: after a response (keep-alive) and before any request', async () => {
  const conn = await openRaw(server.port);
  conn.write('GET /workspace HTTP/1.1\r\nHost: x\r\n' + auth + '\r\n');
  assert.equal((await conn.firstResponse()).status, 200);
  const closedAfter = await conn.closed;
  assert.ok(closedAfter < KEEP_ALIVE_MS + 2_000, `idle keep-alive closed after ${closedAfter} ms`);
  const silent = await openRaw(server.port);
  const silentAfter = await silent.closed;
  assert.ok(silentAfter < HEADERS_MS * 3 + 2_000, `silent connection closed after ${silentAfter} ms`);
});

test('the SSH jump host drops a client that never finishes its handshake', async () => {
  const started = Date.now();
  const sock = connect(sshPort, '127.0.0.1');
  sock.on('error', () => undefined);
  sock.resume(); // read what the jump host sends, so its close is seen
  sock.once('connect', () => sock.write('SSH-2.0-stalled\r\n'));
  const guard = setTimeout(() => sock.destroy(), SSH_HANDSHAKE_MS * 2 + 5_000); // a failure, never a hang
  await new Promise((r) => sock.once('close', r));
  clearTimeout(guard);
  const after = Date.now() - started;
  assert.ok(after < SSH_HANDSHAKE_MS * 2 + 2_000, `dropped after ${after} ms`);
});

test('an exec stream through the gateway that outlives every timeout, with output, is not cut', async () => {
  const ws = await client.workspaces.create({ image: 'node-20', name: 'limits-stream', memory_mb: 256 });
  workspaceId = ws.id;
  const rt = await openRuntime(client, server, ws.id);
  const ticks = Math.ceil((Math.max(HEADERS_MS, BODY_IDLE_MS, KEEP_ALIVE_MS) * 4) / 500);
  const events: any[] = [];
  for await (const e of rt.exec.stream(['sh', '-c', `i=0; while [ $i -lt ${ticks} ]; do echo tick; sleep 0.5; i=$((i+1)); done`])) {
    events.push(e);
  }
  const out = Buffer.concat(events.filter((e) => e.event === 'stdout').map((e) => Buffer.from(e.data, 'base64'))).toString();
  assert.equal(out.split('\n').filter((l) => l === 'tick').length, ticks);
  assert.equal(events.at(-1)?.event, 'exit');
});
