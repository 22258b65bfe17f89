/** The multiplexed WebSocket `/ws` against the real agent process (runtime.md §9). */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAgent, type AgentHandle } from './harness.js';
import { openWs, upgradeStatus, type WsProbe } from './ws-client.js';

const TOKEN = 'b'.repeat(64);
let agent: AgentHandle;
const open: WsProbe[] = [];

before(async () => {
  agent = await startAgent({ token: TOKEN });
});
after(async () => {
  for (const p of open) p.ws.terminate();
  await agent?.stop();
});

const wsUrl = (path = '/ws', token: string | null = TOKEN) =>
  `${agent.url.replace('http', 'ws')}${path}${token === null ? '' : `?token=${encodeURIComponent(token)}`}`;

async function connect(path?: string, token?: string | null, headers?: Record<string, string>): Promise<WsProbe> {
  const p = await openWs(wsUrl(path, token), headers);
  open.push(p);
  return p;
}

async function terminal(body: unknown): Promise<string> {
  const r = await agent.call('/terminals', { method: 'POST', body: JSON.stringify(body) });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.id;
}

test('auth: query token or Bearer header; 401 otherwise; unknown paths 404', async () => {
  assert.equal(await upgradeStatus(wsUrl('/ws', null)), 401);
  assert.equal(await upgradeStatus(wsUrl('/ws', 'wrong')), 401);
  assert.equal(await upgradeStatus(wsUrl('/ws', null), { authorization: `Bearer ${TOKEN}` }), 101);
  assert.equal(await upgradeStatus(wsUrl('/runtimes/default/ws')), 101);
  assert.equal(await upgradeStatus(wsUrl('/runtimes/nope/ws')), 404);
  assert.equal(await upgradeStatus(wsUrl('/nothing')), 404);
});

test('terminal I/O over binary frames, resize over a control frame, exit frame', async () => {
  const id = await terminal({ cmd: ['/bin/sh'] });
  const c = await connect();
  c.input(id, 'echo hello-$((6*7))\n');
  await c.waitOutput(id, /hello-42/);
  c.ws.send(JSON.stringify({ channel: 'terminal', type: 'resize', id, cols: 132, rows: 43 }));
  c.ws.send('not json'); // ignored
  c.ws.send(JSON.stringify({ channel: 'other', type: 'whatever' })); // ignored
  await new Promise((r) => setTimeout(r, 100));
  c.input(id, 'stty size\n');
  await c.waitOutput(id, /43 132/);
  const listed = (await agent.call('/terminals')).body.terminals.find((t: any) => t.id === id);
  assert.equal(listed.cols, 132);
  c.input(id, 'exit 5\n');
  const exit = await c.waitMessage((m) => m.type === 'exit');
  assert.deepEqual(exit, { channel: 'terminal', type: 'exit', id, code: 5 });
  c.input('200', 'ignored\n'); // unknown terminal: ignored
  c.close();
  await agent.call(`/terminals/${id}`, { method: 'DELETE' });
});

test('a new connection replaces the old one and gets scrollback + exit frames replayed', async () => {
  const live = await terminal({ cmd: ['sh', '-c', 'printf "replay-me"; sleep 60'] });
  const dead = await terminal({ cmd: ['sh', '-c', 'printf "bye"; exit 3'] });
  await new Promise((r) => setTimeout(r, 300));
  const first = await connect();
  const second = await connect(undefined, null, { authorization: `Bearer ${TOKEN}` });
  const closed = await first.closed;
  assert.equal(closed.code, 1000);
  await second.waitOutput(live, /replay-me/);
  await second.waitOutput(dead, /bye/);
  const exit = await second.waitMessage((m) => m.type === 'exit' && m.id === dead);
  assert.equal(exit.code, 3);
  assert.equal(exit.channel, 'terminal');
  second.close();
  await agent.call(`/terminals/${live}`, { method: 'DELETE' });
  await agent.call(`/terminals/${dead}`, { method: 'DELETE' });
});

test('slow client: the PTY is paused, agent memory stays bounded, output resumes', async () => {
  const id = await terminal({ cmd: ['sh', '-c', 'i=0; while :; do i=$((i+1)); echo line-$i-0123456789012345678901234567890123456789; done'] });
  const c = await connect();
  await c.waitOutput(id, /line-/);
  // Stop reading: TCP buffers fill, then the agent's send queue, then the PTY is paused.
  (c.ws as any)._socket.pause();
  const before = rssKiB(agent.pid);
  await new Promise((r) => setTimeout(r, 2000));
  const first = await lastLine(id);
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(await lastLine(id), first, 'the program is blocked while the client does not read');
  const during = rssKiB(agent.pid);
  assert.ok(during - before < 64 * 1024, `agent RSS grew by ${during - before} KiB`);
  c.output.set(id, '');
  (c.ws as any)._socket.resume();
  await c.waitOutput(id, /line-\d+/, 10_000);
  const deadline = Date.now() + 10_000;
  while ((await lastLine(id)) <= first && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  assert.ok((await lastLine(id)) > first, 'the program runs again once the client reads');
  c.close();
  await agent.call(`/terminals/${id}`, { method: 'DELETE' });
});

/** The highest line number in a terminal's scrollback. */
async function lastLine(id: string): Promise<number> {
  const r = await agent.call(`/terminals/${id}/scrollback?bytes=4096`);
  const nums = [...Buffer.from(r.body.scrollback, 'base64').toString().matchAll(/line-(\d+)-/g)].map((m) => Number(m[1]));
  return Math.max(0, ...nums);
}

test('slow client: watcher events are dropped, then one overflow notice reports them', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wtest-wsdrop-'));
  const id = await terminal({ cmd: ['sh', '-c', 'while :; do echo 0123456789012345678901234567890123456789; done'] });
  const c = await connect();
  try {
    await c.waitOutput(id, /0123/);
    (c.ws as any)._socket.pause();
    await new Promise((r) => setTimeout(r, 1500)); // the agent's queue passes the high-water mark
    const w = await agent.call('/watchers', { method: 'POST', body: JSON.stringify({ path: dir }) });
    assert.equal(w.status, 200);
    for (let i = 0; i < 20; i++) writeFileSync(join(dir, `f${i}.txt`), 'x');
    await new Promise((r) => setTimeout(r, 300));
    (c.ws as any)._socket.resume();
    const notice = await c.waitMessage((m) => m.type === 'overflow', 15_000);
    assert.equal(notice.channel, 'watcher');
    assert.equal(notice.watcher_id, w.body.id);
    assert.ok(notice.dropped >= 20, `dropped ${notice.dropped}`);
    await agent.call(`/watchers/${w.body.id}`, { method: 'DELETE' });
  } finally {
    c.close();
    await agent.call(`/terminals/${id}`, { method: 'DELETE' });
    rmSync(dir, { recursive: true, force: true });
  }
});

test('rotating or disabling the token closes the socket with 1008', async () => {
  const c = await connect();
  agent.replaceToken('c'.repeat(64));
  const closed = await c.closed;
  assert.equal(closed.code, 1008);
  assert.equal(await upgradeStatus(wsUrl('/ws', 'c'.repeat(64))), 101);
  const d = await connect('/ws', 'c'.repeat(64));
  agent.removeToken();
  assert.equal((await d.closed).code, 1008);
  agent.replaceToken(TOKEN);
});

function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0);
}
