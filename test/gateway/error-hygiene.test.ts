/**
 * The gateway's 5xx answers (issue 15, error hygiene): a fixed message and a request id,
 * never the thrown text (a resolver crash, an nft-like refusal naming addresses); the
 * detail goes to the gateway's log under the same id; the id is forwarded to the agent.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { request } from 'node:http';
import { AppError } from '../../src/contract/errors.js';
import { createGateway } from '../../src/gateway/gateway.js';
import type { RuntimeRoute } from '../../src/gateway/types.js';
import { deadPort, listen, startUpstream, type Upstream } from './harness.js';
import { findLeaks } from '../support/leaks.js';
import { WebSocket } from 'ws';

const SECRET = 'nft refused the change: element 10.200.3.7 in /var/lib/warren/nft';
const logged: Array<{ msg: string; fields: Record<string, unknown> }> = [];
let upstream: Upstream;
let url = '';
let close: () => Promise<void>;

before(async () => {
  upstream = await startUpstream('A', 'agent-token-a');
  const dead = await deadPort();
  const table: Record<string, () => RuntimeRoute> = {
    'tok-a': () => upstream.route('ws_a'),
    'tok-dead': () => ({ workspaceId: 'ws_dead', host: '127.0.0.1', port: dead, agentToken: 'x' }),
    'tok-crash': () => { throw new Error(SECRET); },
    'tok-fault': () => { throw new AppError('server_error', SECRET, { address: '10.200.3.7', reason: 'nft_refused' }); },
  };
  const gateway = createGateway({
    resolve: async (token) => {
      const entry = table[token];
      if (!entry) throw new AppError('unauthorized', 'Invalid or expired runtime token');
      return entry();
    },
    log: (msg, fields = {}) => logged.push({ msg, fields }),
  });
  const server = createServer((req, res) => gateway.handleRequest(req, res));
  server.on('upgrade', (req, socket, head) => gateway.handleUpgrade(req, socket, head));
  const port = await listen(server);
  url = `http://127.0.0.1:${port}`;
  close = async () => {
    gateway.close();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  };
});
after(async () => {
  await close?.();
  await upstream?.close();
});

async function call(path: string, headers: Record<string, string>) {
  const res = await fetch(url + path, { headers });
  return { status: res.status, body: (await res.json()) as any, id: res.headers.get('x-request-id') };
}

test('a crash or a server_error carrying internal text answers a fixed 500 with an id; the log has the text', async () => {
  for (const token of ['tok-crash', 'tok-fault']) {
    const r = await call('/files', { authorization: `Bearer ${token}` });
    assert.equal(r.status, 500);
    assert.equal(r.body.code, 'server_error');
    assert.equal(r.body.message, 'Internal server error');
    assert.deepEqual(findLeaks(r.body), [], JSON.stringify(r.body));
    assert.match(r.body.request_id, /^req_[0-9a-f]{16}$/);
    assert.equal(r.id, r.body.request_id, 'header and body name the same id');
    const line = logged.find((l) => l.fields.request_id === r.body.request_id);
    assert.ok(line, `no log line for ${r.body.request_id}`);
    assert.equal(line.msg, 'gateway: server fault');
    assert.match(String(line.fields.err), /nft refused the change/);
    assert.match(String(line.fields.stack), /error-hygiene\.test/);
  }
  const fault = await call('/files', { authorization: 'Bearer tok-fault' });
  assert.deepEqual(fault.body.details, { reason: 'nft_refused' }, 'only machine tokens stay in a 5xx');
});

test('an unreachable agent is a 502 with an errno reason and an id; the log names the workspace', async () => {
  const r = await call('/exec', { authorization: 'Bearer tok-dead', 'x-request-id': 'caller-7' });
  assert.equal(r.status, 502);
  assert.equal(r.body.code, 'agent_unreachable');
  assert.equal(r.body.request_id, 'caller-7');
  assert.deepEqual(r.body.details, { workspace_id: 'ws_dead', reason: 'ECONNREFUSED' });
  assert.deepEqual(findLeaks(r.body), []);
  const line = logged.find((l) => l.fields.request_id === 'caller-7');
  assert.ok(line);
  assert.match(String(line.fields.cause), /ECONNREFUSED 127\.0\.0\.1/);
});

test('the id reaches the agent: the caller\'s when safe, else a new one', async () => {
  await call('/files', { authorization: 'Bearer tok-a', 'x-request-id': 'caller-42' });
  assert.equal(upstream.seen.at(-1)?.headers['x-request-id'], 'caller-42');
  await call('/files', { authorization: 'Bearer tok-a', 'x-request-id': 'bad id\twith tab' });
  assert.match(String(upstream.seen.at(-1)?.headers['x-request-id']), /^req_[0-9a-f]{16}$/);
  await call('/files', { authorization: 'Bearer tok-a' });
  assert.match(String(upstream.seen.at(-1)?.headers['x-request-id']), /^req_[0-9a-f]{16}$/);
});

test('an upgrade carries one id to the agent, never the caller\'s unsafe one', async () => {
  for (const [sent, expected] of [['caller-ws-1', /^caller-ws-1$/], ['bad id', /^req_[0-9a-f]{16}$/]] as const) {
    const ws = new WebSocket(`${url.replace('http', 'ws')}/ws?token=tok-a`, { headers: { 'x-request-id': sent } });
    await new Promise<void>((resolve, reject) => {
      ws.once('message', () => resolve());
      ws.once('error', reject);
    });
    ws.close();
    const ids = upstream.seen.at(-1)?.headers['x-request-id'];
    assert.match(String(ids), expected, 'exactly one id, the gateway\'s');
  }
});

test('a refused upgrade of a crashing resolve answers a fixed 500 with an id', async () => {
  const { status, body } = await new Promise<{ status: number; body: any }>((resolve, reject) => {
    const req = request(`${url}/ws?token=tok-crash`, {
      headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' },
    });
    req.on('response', (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
    });
    req.on('upgrade', () => reject(new Error('accepted')));
    req.on('error', reject);
    req.end();
  });
  assert.equal(status, 500);
  assert.equal(body.message, 'Internal server error');
  assert.deepEqual(findLeaks(body), []);
  assert.ok(logged.some((l) => l.fields.request_id === body.request_id), 'the refusal is logged under its id');
});
