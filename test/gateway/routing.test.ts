/** Gateway routing by token, credential swap, error envelopes, WebSockets, unreachable agents. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import { deadPort, startGatewayServer, startUpstream, type GatewayServer, type Upstream } from './harness.js';

let a: Upstream;
let b: Upstream;
let gw: GatewayServer;
let deadGw: GatewayServer;

before(async () => {
  a = await startUpstream('A', 'agent-token-a');
  b = await startUpstream('B', 'agent-token-b');
  const dead = await deadPort();
  const table = {
    'tok-a': a.route('ws_a'),
    'eyJ.tok.b': b.route('ws_b'),
    'tok-dead': { workspaceId: 'ws_dead', host: '127.0.0.1', port: dead, agentToken: 'x' },
    'tok-private': { error: 'public_access_required' as const },
    'tok-disabled': { error: 'runtime_api_disabled' as const },
    'tok-stopped': { error: 'workspace_not_running' as const },
    'tok-crash': { crash: 'db exploded at /secret/path' },
  };
  gw = await startGatewayServer(table);
  deadGw = gw;
});
after(async () => {
  await gw?.close();
  await a?.close();
  await b?.close();
});

async function call(path: string, init: RequestInit = {}) {
  const res = await fetch(gw.url + path, init);
  const text = await res.text();
  let body: any = null;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: res.status, body, headers: res.headers };
}
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

test('routes by token and swaps the credential', async () => {
  const ra = await call('/files?path=%2Fapp', { headers: { ...bearer('tok-a'), 'x-custom': '1' } });
  assert.equal(ra.status, 200);
  assert.equal(ra.body.who, 'A');
  assert.equal(ra.body.url, '/files?path=%2Fapp');
  assert.equal(ra.body.headers.authorization, 'Bearer agent-token-a');
  assert.equal(ra.body.headers['x-custom'], '1');
  assert.equal(ra.body.headers['x-forwarded-for'], '127.0.0.1');
  assert.equal(ra.body.headers['x-forwarded-proto'], 'http');
  const rb = await call('/runtimes/linux/exec', { method: 'POST', headers: bearer('eyJ.tok.b'), body: '{"cmd":["ls"]}' });
  assert.equal(rb.body.who, 'B');
  assert.equal(rb.body.url, '/runtimes/linux/exec');
  assert.equal(rb.body.method, 'POST');
  assert.equal(rb.body.bytes, 14);
  assert.equal(rb.body.headers.authorization, 'Bearer agent-token-b');
});

test('token in the query is used and removed before forwarding', async () => {
  const r = await call('/files/read?path=%2Fa&token=tok-a&with_line_numbers=true');
  assert.equal(r.body.who, 'A');
  assert.equal(r.body.url, '/files/read?path=%2Fa&with_line_numbers=true');
  assert.ok(!JSON.stringify(r.body.headers).includes('tok-a'), 'caller token leaked to the agent');
  const spoof = await call('/exec', { headers: { ...bearer('tok-a'), 'x-forwarded-for': '6.6.6.6' } });
  assert.equal(spoof.body.headers['x-forwarded-for'], '6.6.6.6, 127.0.0.1');
});

test('error envelopes: 401, 403, 409, 500 without internals', async () => {
  const cases: [RequestInit['headers'] | undefined, string, number, string][] = [
    [undefined, '/files', 401, 'unauthorized'],
    [bearer('nope'), '/files', 401, 'unauthorized'],
    [bearer('tok-private'), '/exec', 403, 'public_access_required'],
    [bearer('tok-disabled'), '/exec', 403, 'runtime_api_disabled'],
    [bearer('tok-stopped'), '/terminals', 409, 'workspace_not_running'],
    [bearer('tok-crash'), '/files', 500, 'server_error'],
  ];
  for (const [headers, path, status, code] of cases) {
    const r = await call(path, { headers });
    assert.equal(r.status, status, code);
    assert.equal(r.body.success, false);
    assert.equal(r.body.code, code);
    assert.equal(r.body.error, code);
    assert.ok(!JSON.stringify(r.body).includes('/secret/path'));
  }
  // bodies of refused requests are drained, the connection stays usable
  const big = await call('/exec', { method: 'POST', headers: bearer('nope'), body: 'x'.repeat(1 << 20) });
  assert.equal(big.status, 401);
});

test('GET /health without a token is answered by the gateway; with one it is forwarded', async () => {
  const own = await call('/health');
  assert.equal(own.status, 200);
  assert.deepEqual(own.body, { success: true, status: 'ok' });
  assert.equal((await call('/runtimes/linux/health')).body.status, 'ok');
  const fwd = await call('/health', { headers: bearer('tok-a') });
  assert.equal(fwd.body.who, 'A');
  assert.equal((await call('/health', { headers: bearer('tok-stopped') })).status, 409);
});

test('non-runtime paths are not the gateway’s', async () => {
  assert.equal(gw.gateway.isRuntimePath('/workspace/ws_a'), false);
  const r = await call('/workspace', { headers: bearer('tok-a') });
  assert.deepEqual(r.body, { control_plane: true });
});

test('agent down → 502 agent_unreachable quickly', async () => {
  const started = Date.now();
  const r = await call('/exec', { headers: bearer('tok-dead') });
  assert.ok(Date.now() - started < 1000);
  assert.equal(r.status, 502);
  assert.equal(r.body.success, false);
  assert.equal(r.body.code, 'agent_unreachable');
  assert.equal(r.body.details.workspace_id, 'ws_dead');
  assert.ok(deadGw);
});

test('client disconnect aborts the upstream request', async () => {
  const ac = new AbortController();
  const before = a.slowClosed;
  const pending = fetch(`${gw.url}/exec/slow`, { headers: bearer('tok-a'), signal: ac.signal }).catch(() => null);
  const deadline = Date.now() + 3000;
  while (!a.seen.some((s) => s.url === '/exec/slow') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  ac.abort();
  await pending;
  while (a.slowClosed === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.equal(a.slowClosed, before + 1);
});

function openWs(url: string, opts: ConstructorParameters<typeof WebSocket>[2] = {}, protocols?: string[]) {
  const ws = new WebSocket(url, protocols, opts);
  const messages: string[] = [];
  const waiters: (() => void)[] = [];
  ws.on('message', (d) => {
    messages.push(d.toString());
    waiters.splice(0).forEach((w) => w());
  });
  const next = async (n: number) => {
    while (messages.length < n) await new Promise<void>((r) => waiters.push(r));
    return messages[n - 1];
  };
  return { ws, next, opened: new Promise<void>((res, rej) => { ws.once('open', res); ws.once('error', rej); }) };
}

test('WebSocket echo through the gateway (query token and header token)', async () => {
  const wsBase = gw.url.replace('http', 'ws');
  const q = openWs(`${wsBase}/ws?token=tok-a&x=1`);
  await q.opened;
  assert.equal(await q.next(1), 'hello from A /ws?x=1');
  q.ws.send('ping-1');
  assert.equal(await q.next(2), 'ping-1');
  q.ws.close();

  const h = openWs(`${wsBase}/desktop/ws`, { headers: bearer('eyJ.tok.b') }, ['binary']);
  await h.opened;
  assert.equal(h.ws.protocol, 'binary');
  assert.equal(await h.next(1), 'hello from B /desktop/ws');
  h.ws.send(Buffer.from([1, 2, 3]), { binary: true });
  await h.next(2);
  h.ws.close();
});

test('WebSocket refusals carry the error envelope', async () => {
  const wsBase = gw.url.replace('http', 'ws');
  for (const [token, status] of [['nope', 401], ['tok-stopped', 409], ['tok-dead', 502]] as const) {
    const ws = new WebSocket(`${wsBase}/ws?token=${token}`);
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      ws.on('unexpected-response', (_req, r) => {
        let body = '';
        r.on('data', (c) => (body += c));
        r.on('end', () => resolve({ status: r.statusCode ?? 0, body }));
      });
      ws.on('open', () => reject(new Error('should not open')));
      ws.on('error', () => {});
    });
    assert.equal(res.status, status);
    assert.equal(JSON.parse(res.body).success, false);
  }
});

test('disconnectWorkspace cuts open tunnels and requests of that workspace only', async () => {
  const wsBase = gw.url.replace('http', 'ws');
  const wa = openWs(`${wsBase}/ws?token=tok-a`);
  const wb = openWs(`${wsBase}/ws?token=eyJ.tok.b`);
  await Promise.all([wa.opened, wb.opened]);
  await wa.next(1);
  await wb.next(1);
  const closedA = new Promise<void>((r) => wa.ws.once('close', () => r()));
  assert.equal(gw.gateway.disconnectWorkspace('ws_a'), 1);
  await closedA;
  wb.ws.send('still here');
  assert.equal(await wb.next(2), 'still here');
  wb.ws.close();
  assert.equal(gw.gateway.disconnectWorkspace('ws_unknown'), 0);
});
