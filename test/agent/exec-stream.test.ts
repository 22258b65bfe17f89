/** Exec SSE streams and stdin against the real agent process (runtime.md §5.6–5.7). */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startAgent, type AgentHandle } from './harness.js';

let agent: AgentHandle;

before(async () => {
  agent = await startAgent();
});
after(async () => {
  await agent?.stop();
});

interface SseEvent {
  event: string;
  payload: Record<string, unknown>;
}

/** Parses a complete SSE body strictly: `event: X` + one `data: JSON` line + blank line. */
function parseSse(text: string): { events: SseEvent[]; comments: number } {
  const events: SseEvent[] = [];
  let comments = 0;
  for (const block of text.split('\n\n')) {
    if (block === '') continue;
    const lines = block.split('\n');
    if (lines.every((l) => l.startsWith(':'))) {
      comments++;
      continue;
    }
    assert.equal(lines.length, 2, `one event line and one data line: ${JSON.stringify(block)}`);
    assert.match(lines[0]!, /^event: [a-z_]+$/);
    assert.match(lines[1]!, /^data: \{.*\}$/);
    events.push({ event: lines[0]!.slice(7), payload: JSON.parse(lines[1]!.slice(6)) });
  }
  return { events, comments };
}

async function sse(path: string, init: RequestInit = {}): Promise<{ status: number; type: string; events: SseEvent[] }> {
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${'a'.repeat(64)}`);
  if (init.body) headers.set('content-type', 'application/json');
  const res = await fetch(agent.url + path, { ...init, headers });
  const text = await res.text();
  return { status: res.status, type: res.headers.get('content-type') ?? '', events: res.ok ? parseSse(text).events : [] };
}

function decoded(events: SseEvent[], name: 'stdout' | 'stderr'): string {
  return Buffer.concat(
    events.filter((e) => e.event === name).map((e) => Buffer.from(String(e.payload.data), 'base64')),
  ).toString('utf8');
}

function checkShape(events: SseEvent[]): void {
  for (const e of events) {
    assert.equal('event' in e.payload, false, 'no payload key named event');
    if (e.event !== 'stdout' && e.event !== 'stderr') assert.equal('data' in e.payload, false, `no data key in ${e.event}`);
  }
}

test('POST /exec/stream: task_id first, base64 stdout/stderr, exit last', async () => {
  const r = await sse('/exec/stream', {
    method: 'POST',
    body: JSON.stringify({ cmd: ['sh', '-c', 'printf "one\\n"; printf "err\\n" >&2; sleep 0.2; printf "two\\n"; exit 4'] }),
  });
  assert.equal(r.status, 200);
  assert.equal(r.type, 'text/event-stream');
  checkShape(r.events);
  assert.equal(r.events[0]!.event, 'task_id');
  assert.match(String(r.events[0]!.payload.task_id), /^[0-9a-f]{12}$/);
  const last = r.events.at(-1)!;
  assert.equal(last.event, 'exit');
  assert.equal(last.payload.exit_code, 4);
  assert.equal(last.payload.status, 'exited');
  assert.equal(typeof last.payload.pid, 'number');
  assert.equal(decoded(r.events, 'stdout'), 'one\ntwo\n');
  assert.equal(decoded(r.events, 'stderr'), 'err\n');
});

test('POST /exec with stream:true streams too; binary output survives base64', async () => {
  const r = await sse('/exec', {
    method: 'POST',
    body: JSON.stringify({ cmd: ['sh', '-c', "printf '\\377\\000\\376'"], stream: true }),
  });
  assert.equal(r.status, 200);
  assert.equal(r.events[0]!.event, 'task_id');
  const bytes = Buffer.concat(r.events.filter((e) => e.event === 'stdout').map((e) => Buffer.from(String(e.payload.data), 'base64')));
  assert.deepEqual([...bytes], [0xff, 0x00, 0xfe]);
  assert.equal(r.events.at(-1)!.event, 'exit');
});

test('signal-killed task reports 128+signo and the signal name', async () => {
  const r = await sse('/exec/stream', { method: 'POST', body: JSON.stringify({ cmd: ['sh', '-c', 'kill -KILL $$'] }) });
  const exit = r.events.at(-1)!;
  assert.equal(exit.event, 'exit');
  assert.equal(exit.payload.exit_code, 137);
  assert.equal(exit.payload.signal, 'SIGKILL');
});

test('spawn failure before streaming is a JSON 500', async () => {
  const r = await agent.call('/exec/stream', { method: 'POST', body: JSON.stringify({ cmd: ['/nonexistent/prog'] }) });
  assert.equal(r.status, 500);
  assert.equal(r.body.success, false);
  assert.equal(r.body.code, 'spawn_failed');
});

test('stdin: POST /exec/:id/input feeds cat, any content type; subscribe follows live', async () => {
  const ac = new AbortController();
  const res = await fetch(`${agent.url}/exec/stream`, {
    method: 'POST',
    headers: { authorization: `Bearer ${'a'.repeat(64)}`, 'content-type': 'application/json' },
    body: JSON.stringify({ cmd: ['cat'] }),
    signal: ac.signal,
  });
  const reader = res.body!.getReader();
  const first = new TextDecoder().decode((await reader.read()).value);
  const id = /"task_id":"([0-9a-f]+)"/.exec(first)![1]!;

  const sub = sse(`/exec/stream?task_id=${id}`);
  const a = await agent.call(`/exec/${id}/input`, {
    method: 'POST',
    body: 'hello ',
    headers: { 'content-type': 'application/octet-stream' },
  });
  assert.deepEqual(a.body, { success: true, bytes_written: 6 });
  const b = await agent.call(`/exec/${id}/input`, { method: 'POST', body: '{"x":1}\n' }); // JSON content type, raw bytes
  assert.deepEqual(b.body, { success: true, bytes_written: 8 });

  let streamed = first;
  const deadline = Date.now() + 5000;
  while (!streamed.includes('event: stdout') && Date.now() < deadline) {
    streamed += new TextDecoder().decode((await reader.read()).value);
  }
  ac.abort();
  // Closing the stream does not kill the task: kill it explicitly, the subscriber sees exit.
  assert.equal((await agent.call(`/exec/${id}`, { method: 'DELETE' })).status, 200);
  const s = await sub;
  assert.equal(s.events.at(-1)!.event, 'exit');
  assert.equal(s.events.some((e) => e.event === 'task_id'), false);
  assert.equal(decoded(s.events, 'stdout'), 'hello {"x":1}\n');

  const gone = await agent.call(`/exec/${id}/input`, { method: 'POST', body: 'x' });
  assert.equal(gone.status, 404);
  assert.equal(gone.body.success, false);
});

test('subscribe to a finished task replays plain-text output then exit', async () => {
  const done = await agent.call('/exec', { method: 'POST', body: JSON.stringify({ cmd: ['sh', '-c', 'echo out; echo err >&2'] }) });
  const r = await sse(`/exec/stream?task_id=${done.body.id}`);
  assert.deepEqual(r.events.map((e) => e.event), ['output', 'exit']);
  assert.deepEqual(r.events[0]!.payload, { stdout: 'out\n', stderr: 'err\n' });
  assert.equal(r.events[1]!.payload.exit_code, 0);
  checkShape(r.events);

  const missing = await agent.call('/exec/stream?task_id=nope');
  assert.equal(missing.status, 404);
  const noId = await agent.call('/exec/stream');
  assert.equal(noId.status, 400);
  // A finished task takes no input.
  const late = await agent.call(`/exec/${done.body.id}/input`, { method: 'POST', body: 'x' });
  assert.equal(late.status, 409);
  assert.equal(late.body.success, false);
});

test('sync exec closes stdin, so cat ends instead of hanging', async () => {
  const r = await agent.call('/exec', { method: 'POST', body: JSON.stringify({ cmd: ['cat'], timeout_seconds: 5 }) });
  assert.equal(r.body.exit_code, 0);
  assert.equal(r.body.stdout, '');
});
