/**
 * The agent's limits (issue 15, limits) against the real agent process, started with small
 * values: a Content-Length past the cap, an endless chunked body, a slow-loris, a stalled
 * body, an idle keep-alive connection — each refused or dropped in bounded time — and an
 * exec stream that outlives every timeout, with output, not cut.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { startAgent, type AgentHandle } from './harness.js';
import { endlessBody, openRaw, sleep, slowLoris } from '../support/raw-http.js';

const TOKEN = 'a'.repeat(64);
const HEADERS_MS = 600;
const BODY_IDLE_MS = 600;
const KEEP_ALIVE_MS = 600;
const JSON_CAP = 16 * 1024 * 1024;
let agent: AgentHandle;

before(async () => {
  agent = await startAgent({
    token: TOKEN,
    env: {
      WARREN_HEADERS_TIMEOUT_MS: String(HEADERS_MS),
      WARREN_BODY_IDLE_TIMEOUT_MS: String(BODY_IDLE_MS),
      WARREN_KEEP_ALIVE_TIMEOUT_MS: String(KEEP_ALIVE_MS),
    },
  });
});
after(async () => {
  await agent?.stop();
});

const head = (path: string, extra: string) =>
  `POST ${path} HTTP/1.1\r\nHost: agent\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\n${extra}\r\n`;

test('a declared Content-Length past the cap is refused unread: 413 with limit and field', async () => {
  const conn = await openRaw(agent.port);
  conn.write(head('/exec', `Content-Length: ${JSON_CAP + 1}\r\n`));
  const res = await conn.firstResponse(5_000);
  assert.equal(res.status, 413);
  assert.equal(res.body.code, 'payload_too_large');
  assert.deepEqual([res.body.details.limit, res.body.details.field], [JSON_CAP, 'body']);
  assert.ok((await conn.closed) < 5_000);
});

test('the proxy route refuses a declared body past its cap unread', async () => {
  const conn = await openRaw(agent.port);
  conn.write(head('/proxy/3000/upload', `Content-Length: ${1024 * 1024 * 1024 + 1}\r\n`));
  const res = await conn.firstResponse(5_000);
  assert.equal(res.status, 413);
  assert.deepEqual([res.body.code, res.body.details.field, res.body.details.limit], ['payload_too_large', 'body', 1024 * 1024 * 1024]);
  conn.destroy();
});

test('an endless chunked body is refused at the first chunk past the cap', async () => {
  const conn = await openRaw(agent.port);
  conn.write(head('/exec', 'Transfer-Encoding: chunked\r\n'));
  const chunk = 1024 * 1024;
  const { response, sent } = await endlessBody(conn, chunk, 1);
  assert.equal(response.status, 413);
  assert.equal(response.body.code, 'payload_too_large');
  assert.deepEqual([response.body.details.limit, response.body.details.field], [JSON_CAP, 'body']);
  assert.ok(sent <= JSON_CAP / chunk + 8, `answered after ${sent} MiB`);
  assert.ok((await conn.closed) < 10_000, 'closed after a bounded drain');
  assert.equal((await agent.call('/health')).status, 200);
});

test('a slow-loris (headers dribbled) is answered 408 request_timeout and dropped', async () => {
  const loris = await slowLoris(agent.port, '/runtime');
  assert.ok(loris.closedAfterMs < HEADERS_MS * 3 + 1_000, `dropped after ${loris.closedAfterMs} ms`);
  assert.match(loris.received, /^HTTP\/1\.1 408 /);
  assert.match(loris.received, /"code":"request_timeout"/);
});

test('a body that stalls is answered 408 request_timeout (field body) and the connection closed', async () => {
  const conn = await openRaw(agent.port);
  conn.write(head('/exec', 'Content-Length: 100\r\n') + '{"cmd":');
  const res = await conn.firstResponse(BODY_IDLE_MS * 4 + 2_000);
  assert.equal(res.status, 408);
  assert.equal(res.body.code, 'request_timeout');
  assert.equal(res.body.details.field, 'body');
  assert.ok((await conn.closed) < BODY_IDLE_MS * 4 + 3_000);
});

test('an upload that keeps moving slowly is not cut by the body timeout', async () => {
  const content = 'x'.repeat(40);
  const target = `/tmp/warren-limits-${process.pid}.txt`;
  after(() => rmSync(target, { force: true }));
  const body = JSON.stringify({ path: target, content });
  const conn = await openRaw(agent.port);
  conn.write(head('/files/write', `Content-Length: ${Buffer.byteLength(body)}\r\n`));
  // 4 pieces, each BODY_IDLE_MS / 2 apart: the whole body takes longer than the idle timeout
  const step = Math.ceil(body.length / 4);
  for (let i = 0; i < body.length; i += step) {
    conn.write(body.slice(i, i + step));
    await sleep(BODY_IDLE_MS / 2);
  }
  const res = await conn.firstResponse(5_000);
  assert.equal(res.status, 201, JSON.stringify(res.body));
  assert.equal(res.body.size, content.length);
  conn.destroy();
});

test('an idle keep-alive connection is closed; a connection that never sends is closed too', async () => {
  const conn = await openRaw(agent.port);
  conn.write(`GET /health HTTP/1.1\r\nHost: agent\r\n\r\n`);
  assert.equal((await conn.firstResponse()).status, 200);
  const closedAfter = await conn.closed;
  assert.ok(closedAfter < KEEP_ALIVE_MS + 2_000, `idle keep-alive closed after ${closedAfter} ms`);
  const silent = await openRaw(agent.port);
  const silentAfter = await silent.closed;
  assert.ok(silentAfter < HEADERS_MS * 3 + 2_000, `silent connection closed after ${silentAfter} ms`);
});

test('an exec stream that outlives every timeout, with output, is not cut', async () => {
  const seconds = Math.ceil((Math.max(HEADERS_MS, BODY_IDLE_MS, KEEP_ALIVE_MS) * 4) / 1000);
  const res = await fetch(`${agent.url}/exec/stream`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ cmd: ['sh', '-c', `for i in $(seq 1 ${seconds * 2}); do echo tick $i; sleep 0.5; done`] }),
  });
  assert.equal(res.status, 200);
  const text = await res.text();
  assert.match(text, /event: exit/);
  assert.match(text, /"exit_code":0/);
});
