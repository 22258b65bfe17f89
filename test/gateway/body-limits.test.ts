/**
 * The gateway's body caps (issue 15, limits): a declared Content-Length past the cap is
 * refused unread, before the token is looked at; a chunked body at the first chunk past it,
 * with the upstream request cut; a body within the cap is relayed whole.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startGatewayServer, startUpstream, type GatewayServer, type Upstream } from './harness.js';
import { endlessBody, openRaw } from '../support/raw-http.js';

const CAP = 64 * 1024;
let up: Upstream;
let gw: GatewayServer;

before(async () => {
  up = await startUpstream('a', 'agent-token-a');
  gw = await startGatewayServer({ 'tok-a': up.route('ws_a') }, undefined, () => CAP);
});
after(async () => {
  await gw.close();
  await up.close();
});

function assert413(res: { status: number; body: any }) {
  assert.equal(res.status, 413);
  assert.equal(res.body.success, false);
  assert.equal(res.body.code, 'payload_too_large');
  assert.equal(res.body.details?.limit, CAP);
  assert.equal(res.body.details?.field, 'body');
}

test('a body within the cap is relayed whole', async () => {
  const res = await fetch(`${gw.url}/files/transfer/upload`, {
    method: 'POST', headers: { authorization: 'Bearer tok-a' }, body: new Uint8Array(CAP),
  });
  assert.equal(res.status, 200);
  assert.equal((await res.json()).bytes, CAP);
});

test('a declared Content-Length past the cap is refused unread, even without a valid token', async () => {
  const seen = up.seen.length;
  for (const auth of ['Bearer tok-a', 'Bearer nobody']) {
    const conn = await openRaw(gw.port);
    conn.write(`POST /exec HTTP/1.1\r\nHost: x\r\nAuthorization: ${auth}\r\nContent-Type: application/json\r\nContent-Length: ${CAP + 1}\r\n\r\n`);
    const res = await conn.firstResponse();
    assert413(res);
    assert.equal(res.headers.connection, 'close');
    assert.ok((await conn.closed) < 5_000, 'the connection is closed after the refusal');
  }
  assert.equal(up.seen.length, seen, 'nothing reached the agent');
});

test('a chunked body is refused at the first chunk past the cap, then the connection closed', async () => {
  const conn = await openRaw(gw.port);
  conn.write('POST /files/transfer/upload HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer tok-a\r\nTransfer-Encoding: chunked\r\n\r\n');
  const { response, sent } = await endlessBody(conn, 16 * 1024, 5);
  assert413(response);
  assert.ok(sent < 64, `answered after ${sent} chunks of 16 KiB`);
  // the client may keep sending a little; the gateway drains for a bounded time, then closes
  const closedAfter = await conn.closed;
  assert.ok(closedAfter < 10_000, `closed after ${closedAfter} ms`);
  // the gateway still answers
  assert.equal((await fetch(`${gw.url}/health`)).status, 200);
});

test('a relayed body that stalls is answered 408 request_timeout (the main server\'s guard) and the gateway carries on', async () => {
  const { createServer } = await import('node:http');
  const { createGateway } = await import('../../src/gateway/gateway.js');
  const { guardBodyIdle } = await import('../../src/util/http-guards.js');
  const { fakeResolver, listen } = await import('./harness.js');
  const gateway = createGateway({ resolve: fakeResolver({ 'tok-a': up.route('ws_a') }) });
  const server = createServer((req, res) => {
    guardBodyIdle(req, res, 300);
    gateway.handleRequest(req, res);
  });
  const port = await listen(server);
  try {
    const conn = await openRaw(port);
    conn.write('POST /files/transfer/upload HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer tok-a\r\nContent-Length: 100\r\n\r\nabc');
    const res = await conn.firstResponse(5_000);
    assert.equal(res.status, 408);
    assert.deepEqual([res.body.code, res.body.details.field], ['request_timeout', 'body']);
    assert.ok((await conn.closed) < 5_000);
    const ok = await fetch(`http://127.0.0.1:${port}/exec`, { method: 'POST', headers: { authorization: 'Bearer tok-a' }, body: '{}' });
    assert.equal(ok.status, 200);
  } finally {
    gateway.close();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
});
