/**
 * The replica's node API client against stand-in nodes on loopback: what each kind of
 * answer (or none) becomes on the replica's side.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type RequestListener } from 'node:http';
import { AppError } from '../contract/errors.js';
import { callNode, splitAddress } from './node-api-client.js';

async function node(t: TestContext, handler: RequestListener): Promise<string> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }));
  return `127.0.0.1:${(server.address() as { port: number }).port}`;
}

const call = (address: string, timeoutMs = 2000) =>
  callNode({ nodeId: 'n1', address, op: 'inspect', token: 't', payload: Buffer.from('{}'), timeoutMs });
const failure = (p: Promise<unknown>) => p.then(() => assert.fail('expected a failure'), (err: unknown) => {
  assert.ok(err instanceof AppError, String(err));
  return err;
});
const json = (status: number, body: unknown): RequestListener => (req, res) => {
  req.resume();
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
};

test('node api client: 200 gives result and imageId; the token and body are sent as given', async (t) => {
  let seen: { auth?: string; path?: string; body?: string } = {};
  const address = await node(t, (req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => { body += c; });
    req.on('end', () => {
      seen = { auth: req.headers.authorization, path: req.url, body };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ result: { state: 'running' }, imageId: null }));
    });
  });
  assert.deepEqual(await call(address), { result: { state: 'running' }, imageId: null });
  assert.deepEqual(seen, { auth: 'Warren-Node t', path: '/v1/node/workspaces/inspect', body: '{}' });
});

test('node api client: a registered code comes back as that AppError; an unknown one or a token refusal as server_error', async (t) => {
  const remote = await failure(call(await node(t, json(409, { error: { code: 'invalid_state', message: 'm', details: { field: 'state' } } }))));
  assert.deepEqual([remote.code, remote.message, remote.details], ['invalid_state', 'm', { field: 'state' }]);
  const unknown = await failure(call(await node(t, json(418, { error: { code: 'teapot', message: 'host text' } }))));
  assert.equal(unknown.code, 'server_error');
  assert.doesNotMatch(unknown.message, /host text/);
  const refused = await failure(call(await node(t, json(403, { error: { code: 'forbidden', message: 'x', details: { field: 'authorization' } } }))));
  assert.equal(refused.code, 'server_error');
});

test('node api client: refused, silent, cut, oversized or non-JSON answers are 503 node_lost (unreachable)', async (t) => {
  const closed = await node(t, () => {});
  const port = Number(closed.split(':')[1]);
  const dead = await new Promise<string>((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(`127.0.0.1:${p}`));
    });
  });
  const cases: Array<[string, () => Promise<unknown>]> = [
    ['refused', () => call(dead)],
    ['silent', () => call(`127.0.0.1:${port}`, 200)],
    ['cut', async () => call(await node(t, (req) => { req.socket.destroy(); }))],
    ['oversized', async () => call(await node(t, (req, res) => { req.resume(); res.writeHead(200); res.end('x'.repeat(300 * 1024)); }))],
    ['not JSON', async () => call(await node(t, (req, res) => { req.resume(); res.writeHead(502); res.end('<html>bad gateway</html>'); }))],
  ];
  for (const [what, run] of cases) {
    const err = await failure(run());
    assert.deepEqual([err.code, err.status, err.details?.reason, err.details?.node_id], ['node_lost', 503, 'unreachable', 'n1'], what);
  }
});

test('node api client: addresses are host:port (v6 in brackets)', () => {
  assert.deepEqual(splitAddress('10.0.0.1:7443'), { host: '10.0.0.1', port: 7443 });
  assert.deepEqual(splitAddress('node-a.internal:80'), { host: 'node-a.internal', port: 80 });
  assert.deepEqual(splitAddress('[fd00::1]:7443'), { host: 'fd00::1', port: 7443 });
  for (const bad of ['10.0.0.1', '10.0.0.1:0', '10.0.0.1:70000', 'fd00::1:7443', ':80', '']) assert.equal(splitAddress(bad), null, bad);
});
