/** Terminal sessions (real PTYs) against the real agent process (runtime.md §6). */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startAgent, processGone, waitFor, type AgentHandle } from './harness.js';

let agent: AgentHandle;

before(async () => {
  agent = await startAgent();
});
after(async () => {
  await agent?.stop();
});

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));
const post = (body: unknown) => agent.call('/terminals', { method: 'POST', body: JSON.stringify(body) });

async function scrollback(id: string, bytes?: number): Promise<{ text: string; body: any }> {
  const r = await agent.call(`/terminals/${id}/scrollback${bytes ? `?bytes=${bytes}` : ''}`);
  assert.equal(r.status, 200);
  return { text: Buffer.from(r.body.scrollback, 'base64').toString('utf8'), body: r.body };
}

test('create (default shell), list, scrollback, delete', async () => {
  const c = await post({});
  assert.equal(c.status, 201);
  assert.equal(c.body.success, true);
  assert.equal(c.body.id, '1');
  assert.deepEqual(c.body.command, ['/bin/bash']);
  assert.equal(c.body.cols, 80);
  assert.equal(c.body.rows, 24);
  assert.equal(c.body.alive, true);
  assert.equal(c.body.scrollback_size, 65536);

  const l = await agent.call('/terminals');
  assert.equal(l.body.terminals.length, 1);
  assert.equal(l.body.terminals[0].id, '1');
  assert.equal(l.body.terminals[0].exit_code, 0);

  const d = await agent.call('/terminals/1', { method: 'DELETE' });
  assert.deepEqual(d.body, { success: true, terminal_id: '1' });
  assert.equal((await agent.call('/terminals/1', { method: 'DELETE' })).status, 404);
  assert.equal((await agent.call('/terminals/1/scrollback')).status, 404);
});

test('a command runs in a PTY; exit code and output kept after exit; ?bytes= tails', async () => {
  const c = await post({ cmd: ['sh', '-c', 'tty; stty size; printf "done-marker"; exit 7'], cols: 100, rows: 30 });
  assert.equal(c.status, 201);
  const id = c.body.id as string;
  let sb = await scrollback(id);
  const deadline = Date.now() + 5000;
  while (sb.body.alive && Date.now() < deadline) {
    await delay(50);
    sb = await scrollback(id);
  }
  assert.equal(sb.body.alive, false);
  assert.equal(sb.body.exit_code, 7);
  assert.match(sb.text, /\/dev\/pts\/\d+/);
  assert.match(sb.text, /30 100/);
  assert.match(sb.text, /done-marker$/);
  assert.equal(sb.body.size, Buffer.byteLength(sb.text));
  const tail = await scrollback(id, 6);
  assert.equal(tail.text, 'marker');
  assert.equal(tail.body.size, 6);
  const listed = (await agent.call('/terminals')).body.terminals.find((t: any) => t.id === id);
  assert.equal(listed.alive, false);
  assert.equal(listed.exit_code, 7);
  await agent.call(`/terminals/${id}`, { method: 'DELETE' });
});

test('scrollback ring is bounded; PATCH resizes it; DELETE clears it', async () => {
  const c = await post({ cmd: ['sh', '-c', 'head -c 5000 /dev/zero | tr "\\0" x; sleep 30'], scrollback_size: 1024 });
  const id = c.body.id as string;
  assert.equal(c.body.scrollback_size, 1024);
  await delay(300);
  const sb = await scrollback(id);
  assert.equal(sb.body.size, 1024);
  assert.equal(sb.text, 'x'.repeat(1024));
  const p = await agent.call(`/terminals/${id}/scrollback`, { method: 'PATCH', body: JSON.stringify({ scrollback_size: 100 }) });
  assert.equal(p.body.scrollback_size, 100);
  assert.equal((await scrollback(id)).body.size, 100);
  const bad = await agent.call(`/terminals/${id}/scrollback`, { method: 'PATCH', body: JSON.stringify({ scrollback_size: 300000 }) });
  assert.equal(bad.status, 400);
  await agent.call(`/terminals/${id}/scrollback`, { method: 'DELETE' });
  assert.equal((await scrollback(id)).body.size, 0);
  await agent.call(`/terminals/${id}`, { method: 'DELETE' });
});

test('ids are the lowest free 1..N; at most 10 alive (429); delete kills the process group', async () => {
  const ids: string[] = [];
  for (let i = 0; i < 10; i++) {
    const c = await post({ cmd: ['sleep', '60'] });
    assert.equal(c.status, 201, JSON.stringify(c.body));
    ids.push(c.body.id);
  }
  assert.deepEqual(ids, ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10']);
  const over = await post({ cmd: ['sleep', '60'] });
  assert.equal(over.status, 429);
  assert.equal(over.body.success, false);

  const pids = await sleepPids();
  assert.ok(pids.length >= 10);
  await agent.call('/terminals/3', { method: 'DELETE' });
  const again = await post({ cmd: ['sleep', '60'] });
  assert.equal(again.body.id, '3');
  for (const id of ids) await agent.call(`/terminals/${id}`, { method: 'DELETE' });
  assert.ok(await waitFor(() => pids.every(processGone), 5000), 'terminal processes are gone');
});

test('bad input: 400 for bad cols, 500 for a missing program', async () => {
  assert.equal((await post({ cols: -1 })).status, 400);
  assert.equal((await post({ cmd: 42 })).status, 400);
  const missing = await post({ cmd: ['/no/such/shell'] });
  assert.equal(missing.status, 500);
  assert.equal(missing.body.success, false);
});

/** PIDs of `sleep 60` children of the agent's PTYs (found through /proc). */
async function sleepPids(): Promise<number[]> {
  const { readdirSync, readFileSync } = await import('node:fs');
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8');
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (/(^|\/)sleep\u000060\u0000$/.test(cmd) && ppid === agent.pid) out.push(Number(d));
    } catch {
      // raced with exit
    }
  }
  return out;
}
