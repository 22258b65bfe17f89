/** The gateway streams: SSE events pass one by one; 64 MiB bodies pass with bounded memory. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { patternChunk, startGatewayServer, startUpstream, type GatewayServer, type Upstream } from './harness.js';

const MiB = 1024 * 1024;
let up: Upstream;
let gw: GatewayServer;

before(async () => {
  up = await startUpstream('S', 'agent-s');
  gw = await startGatewayServer({ 'tok-s': up.route('ws_s') });
});
after(async () => {
  await gw?.close();
  await up?.close();
});

test('SSE: the first event arrives before the upstream finishes', async () => {
  const res = await fetch(`${gw.url}/exec/stream`, { method: 'POST', headers: { authorization: 'Bearer tok-s' }, body: '{}' });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'text/event-stream');
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  const timeout = setTimeout(() => reader.cancel(), 3000);
  while (!text.includes('\n\n')) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  clearTimeout(timeout);
  assert.equal(text, 'event: stdout\ndata: {"n":1}\n\n', 'first event must arrive while the upstream is still open');
  up.releaseSse();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  assert.match(text, /event: exit\ndata: \{"exit_code":0\}\n\n$/);
});

function* bodyChunks(total: number): Generator<Uint8Array> {
  const chunk = patternChunk();
  for (let sent = 0; sent < total; sent += chunk.length) yield new Uint8Array(chunk.subarray(0, Math.min(chunk.length, total - sent)));
}

function expectedSha(total: number): string {
  const h = createHash('sha256');
  for (const c of bodyChunks(total)) h.update(c);
  return h.digest('hex');
}

async function startGatewayChild(table: object): Promise<{ child: ChildProcess; url: string }> {
  const script = fileURLToPath(new URL('./gateway-child.ts', import.meta.url));
  // A small young generation makes RSS track live memory instead of GC slack.
  const child = spawn(process.execPath, ['--max-semi-space-size=1', '--import', 'tsx', script], {
    env: { ...process.env, GATEWAY_TABLE: JSON.stringify(table) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c) => {
      out += c;
      const m = /PORT (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`gateway child exited ${code}`)));
  });
  return { child, url: `http://127.0.0.1:${port}` };
}

function statusKb(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? NaN);
}

test('64 MiB up and down through the gateway with bounded gateway memory', async (t) => {
  const { child, url } = await startGatewayChild({ 'tok-s': up.route('ws_s') });
  t.after(() => {
    child.kill('SIGKILL');
  });
  const total = Number(process.env.GW_TEST_MIB ?? 64) * MiB;
  // Warm up with 8 MiB each way (JIT, pools); its peak is the baseline. Freed socket
  // buffers are only reclaimed at V8's external-memory GC trigger, so a streaming
  // gateway still grows by ~20-26 MiB whatever the body size (measured with 16, 64 and
  // 256 MiB); one that buffered a body would grow by at least the body size.
  await transfer(url, 8 * MiB);
  const baseline = statusKb(child.pid!, 'VmHWM');
  await transfer(url, total);
  const peak = statusKb(child.pid!, 'VmHWM');
  const growthMiB = (peak - baseline) / 1024;
  t.diagnostic(`gateway peak RSS after warm-up ${(baseline / 1024).toFixed(1)} MiB, after 2 × ${total / MiB} MiB ${(peak / 1024).toFixed(1)} MiB`);
  assert.ok(growthMiB < 48, `gateway grew by ${growthMiB.toFixed(1)} MiB while moving 2 × ${total / MiB} MiB`);
});

async function transfer(url: string, total: number): Promise<void> {
  const auth = { authorization: 'Bearer tok-s' };

  const gen = bodyChunks(total);
  const body = new ReadableStream<Uint8Array>({
    pull(ctrl) {
      const n = gen.next();
      if (n.done) ctrl.close();
      else ctrl.enqueue(n.value);
    },
  });
  const upRes = await fetch(`${url}/files/transfer/upload`, { method: 'POST', headers: auth, body, duplex: 'half' } as RequestInit);
  const upBody = (await upRes.json()) as { bytes: number; sha256: string };
  assert.equal(upBody.bytes, total);
  assert.equal(upBody.sha256, expectedSha(total));

  const down = await fetch(`${url}/files/download?bytes=${total}`, { headers: auth });
  assert.equal(down.headers.get('content-length'), String(total));
  const hash = createHash('sha256');
  let got = 0;
  for await (const c of down.body as unknown as AsyncIterable<Uint8Array>) {
    got += c.length;
    hash.update(c);
  }
  assert.equal(got, total);
  assert.equal(hash.digest('hex'), expectedSha(total));
}

test('connect timeout → 502 agent_unreachable', async (t) => {
  // A listener that never accepts: once its accept queue is full, further SYNs are dropped.
  const py = spawn('python3', ['-c', [
    'import socket,sys,time',
    's=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(0)',
    'print(s.getsockname()[1]); sys.stdout.flush(); time.sleep(30)',
  ].join('\n')], { stdio: ['ignore', 'pipe', 'inherit'] });
  const fillers: Socket[] = [];
  t.after(() => {
    fillers.forEach((s) => s.destroy());
    py.kill('SIGKILL');
  });
  const port = await new Promise<number>((resolve) => py.stdout!.once('data', (c) => resolve(Number(String(c).trim()))));
  for (let i = 0; i < 4; i++) {
    const s = connect(port, '127.0.0.1');
    s.on('error', () => {});
    fillers.push(s);
  }
  await new Promise((r) => setTimeout(r, 200));
  const slowGw = await startGatewayServer({ 'tok-h': { workspaceId: 'ws_h', host: '127.0.0.1', port, agentToken: 'x' } }, 500);
  t.after(() => slowGw.close());
  const started = Date.now();
  const res = await fetch(`${slowGw.url}/exec`, { headers: { authorization: 'Bearer tok-h' } });
  const took = Date.now() - started;
  const body = (await res.json()) as { success: boolean; code: string; details: { reason: string } };
  assert.equal(res.status, 502);
  assert.equal(body.success, false);
  assert.equal(body.code, 'agent_unreachable');
  assert.equal(body.details.reason, 'ETIMEDOUT_CONNECT');
  assert.ok(took >= 450 && took < 3000, `took ${took} ms`);
});
