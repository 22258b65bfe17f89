/**
 * The workspace's log files through the agent's internal API: cmd.log, rotation under a
 * follower, keep_logs, the file listing and reader (no escape from the directory),
 * truncation, and a workload's plain-text `log_path`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { assertError, startAgent, waitFor, TEST_CONTROL_TOKEN, type AgentHandle } from './harness.js';

const MiB = 1024 * 1024;
const ctl = (a: AgentHandle, path: string, init: RequestInit = {}) => a.call(path, { ...init, token: TEST_CONTROL_TOKEN });
const put = (a: AgentHandle, spec: Record<string, unknown>) =>
  ctl(a, `/_warren/workloads/${spec.id as string}`, { method: 'PUT', body: JSON.stringify(spec) });

function tmp(t: { after: (fn: () => void) => void }, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Reads an SSE stream's `data:` payloads; `finished` never rejects. */
function openSse(url: string) {
  const events: any[] = [];
  const ac = new AbortController();
  const finished = (async () => {
    try {
      const res = await fetch(url, { headers: { authorization: `Bearer ${TEST_CONTROL_TOKEN}` }, signal: ac.signal });
      let buf = '';
      for await (const chunk of res.body as any) {
        buf += Buffer.from(chunk).toString('utf8');
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          for (const line of buf.slice(0, i).split('\n')) if (line.startsWith('data: ')) events.push(JSON.parse(line.slice(6)));
          buf = buf.slice(i + 2);
        }
      }
    } catch {
      /* aborted or cut */
    }
  })();
  return { events, finished, done: () => ac.abort() };
}

test('the workspace cmd writes cmd.log; tail and stream (replay + follow) read it', async (t) => {
  const dir = tmp(t, 'wtest-cmdlog-');
  const go = join(dir, 'go');
  const agent = await startAgent({
    config: {
      workspace_id: 'ws_cmdlog', env: {},
      cmd: ['sh', '-c', `echo cmd-marker-1; echo cmd-err >&2; while [ ! -f ${go} ]; do sleep 0.05; done; echo cmd-marker-2; exec sleep 30`],
    },
  });
  t.after(() => agent.stop());
  assert.ok(await waitFor(() => existsSync(join(agent.logsDir, 'cmd.log')) && statSync(join(agent.logsDir, 'cmd.log')).size > 0, 5000));
  await sleep(100);
  const tail = (await ctl(agent, '/_warren/logs/cmd?tail=10')).body.entries;
  assert.deepEqual(tail.map((e: any) => [e.stream, e.data]).sort(), [['stderr', 'cmd-err\n'], ['stdout', 'cmd-marker-1\n']]);
  assert.equal((await ctl(agent, '/_warren/logs/cmd?tail=1')).body.entries.length, 1);
  const sse = openSse(`${agent.url}/_warren/logs/cmd/stream?tail=5`);
  t.after(() => sse.done());
  assert.ok(await waitFor(() => sse.events.length === 2, 5000));
  writeFileSync(go, '');
  assert.ok(await waitFor(() => sse.events.length === 3, 5000));
  assert.equal(sse.events[2].data, 'cmd-marker-2\n');
  // The ring buffer of GET /runtime is unchanged by the file log.
  assert.equal((await agent.call('/runtime')).status, 200);
  assertError(await ctl(agent, '/_warren/logs/cmd?tail=-1'), 400, 'bad_request');
});

test('rotation keeps a log under its cap and a follower sees every line in order', async (t) => {
  const agent = await startAgent();
  t.after(() => agent.stop());
  const N = 40_000;
  const id = 'wl_rotate000001';
  // ~100-byte lines, ~5 MiB of JSON lines through a 1 MiB cap: several rotations.
  const pad = 'x'.repeat(60);
  await put(agent, {
    id, enabled: false, max_log_size_mb: 1,
    cmd: ['sh', '-c', `i=0; while [ $i -lt ${N} ]; do echo "line-$i-${pad}"; i=$((i+1)); done; exec sleep 30`],
  });
  const sse = openSse(`${agent.url}/_warren/workloads/${id}/logs/stream?tail=0`);
  t.after(() => sse.done());
  await sleep(200);
  await ctl(agent, `/_warren/workloads/${id}/start`, { method: 'POST' });
  const expected = Array.from({ length: N }, (_, i) => `line-${i}-${pad}\n`).join('');
  const seen = () => sse.events.reduce((n: number, e: any) => n + e.data.length, 0);
  assert.ok(await waitFor(() => seen() >= expected.length, 60_000), `follower saw ${seen()} of ${expected.length} chars`);
  await sleep(300);
  assert.equal(sse.events.map((e: any) => e.data).join(''), expected, 'every line once, in order');
  const file = join(agent.logsDir, 'workloads', `${id}.log`);
  const onDisk = statSync(file).size + statSync(`${file}.1`).size;
  assert.ok(onDisk <= 1 * MiB, `log holds ${onDisk} bytes`);
  // A tail longer than the current file spans both generations, in order, ending with the last line.
  const current = readFileSync(file, 'utf8').split('\n').filter((l) => l).reduce((n, l) => n + JSON.parse(l).d.split('\n').length - 1, 0);
  const tail = (await ctl(agent, `/_warren/workloads/${id}/logs?tail=${current + 100}`)).body.entries;
  const tailLines = tail.map((e: any) => e.data).join('').split('\n').slice(0, -1);
  assert.equal(tailLines.length, current + 100);
  tailLines.forEach((l: string, i: number) => assert.equal(l, `line-${N - current - 100 + i}-${pad}`));
});

test('keep_logs: false empties the log directory at start; the default keeps it', async (t) => {
  const logsDir = tmp(t, 'wtest-keeplogs-');
  mkdirSync(join(logsDir, 'workloads'));
  writeFileSync(join(logsDir, 'cmd.log'), `${JSON.stringify({ t: '2020-01-01T00:00:00.000Z', s: 'stdout', d: 'old-run' })}\n`);
  writeFileSync(join(logsDir, 'workloads', 'wl_old.log'), 'x\n');
  const keep = await startAgent({ logsDir });
  try {
    assert.equal((await ctl(keep, '/_warren/logs/cmd')).body.entries[0].data, 'old-run');
  } finally {
    await keep.stop();
  }
  const fresh = await startAgent({ logsDir, config: { workspace_id: 'ws_k', env: {}, keep_logs: false } });
  t.after(() => fresh.stop());
  assert.deepEqual((await ctl(fresh, '/_warren/logs/files')).body.files, []);
  assert.ok(!existsSync(join(logsDir, 'cmd.log')));
  assert.ok(existsSync(logsDir));
});

test('files: listing, reading, and no way out of the directory', async (t) => {
  const outside = tmp(t, 'wtest-outside-');
  writeFileSync(join(outside, 'secret.log'), `${JSON.stringify({ t: '', s: 'stdout', d: 'secret' })}\n`);
  const agent = await startAgent({ config: { workspace_id: 'ws_f', env: {}, cmd: ['sh', '-c', 'echo from-cmd; exec sleep 30'] } });
  t.after(() => agent.stop());
  await put(agent, { id: 'wl_files0000001', cmd: ['sh', '-c', 'echo from-workload; exec sleep 30'] });
  assert.ok(await waitFor(() => existsSync(join(agent.logsDir, 'workloads', 'wl_files0000001.log')), 5000));
  symlinkSync(join(outside, 'secret.log'), join(agent.logsDir, 'planted.log'));
  symlinkSync(outside, join(agent.logsDir, 'linkdir'));
  await sleep(300);
  const files = (await ctl(agent, '/_warren/logs/files')).body.files;
  assert.deepEqual(files.map((f: any) => f.name), ['cmd.log', 'workloads/wl_files0000001.log']);
  assert.ok(files.every((f: any) => f.size > 0 && !Number.isNaN(Date.parse(f.modified))));
  const read = await ctl(agent, `/_warren/logs/file?name=${encodeURIComponent('workloads/wl_files0000001.log')}`);
  assert.equal(read.body.name, 'workloads/wl_files0000001.log');
  assert.deepEqual(read.body.entries.map((e: any) => e.data), ['from-workload\n']);
  for (const name of ['../x', '/etc/passwd', 'planted.log', 'linkdir/secret.log', 'workloads/../cmd.log', 'workloads', '']) {
    assertError(await ctl(agent, `/_warren/logs/file?name=${encodeURIComponent(name)}`), 404, 'not_found');
  }
});

test('DELETE /_warren/logs truncates every log; writing continues into fresh files', async (t) => {
  const dir = tmp(t, 'wtest-trunc-');
  const go = join(dir, 'go');
  const plain = join(dir, 'plain', 'app.log');
  const agent = await startAgent({ config: { workspace_id: 'ws_t', env: {}, cmd: ['sh', '-c', 'echo cmd-before; exec sleep 30'] } });
  t.after(() => agent.stop());
  await put(agent, {
    id: 'wl_trunc0000001', log_path: plain,
    cmd: ['sh', '-c', `echo before; while [ ! -f ${go} ]; do sleep 0.05; done; echo after; exec sleep 30`],
  });
  const logOf = async () => (await ctl(agent, '/_warren/workloads/wl_trunc0000001/logs')).body.entries.map((e: any) => e.data);
  assert.ok(await waitFor(() => existsSync(plain), 5000));
  await sleep(300);
  assert.deepEqual(await logOf(), ['before\n']);
  const r = await ctl(agent, '/_warren/logs', { method: 'DELETE' });
  assert.equal(r.status, 200);
  assert.deepEqual(await logOf(), []);
  assert.deepEqual((await ctl(agent, '/_warren/logs/cmd')).body.entries, []);
  assert.ok((await ctl(agent, '/_warren/logs/files')).body.files.every((f: any) => f.size === 0));
  writeFileSync(go, '');
  assert.ok(await waitFor(() => readFileSync(plain, 'utf8') === 'before\nafter\n', 5000), 'plain log_path mirror');
  await sleep(100);
  assert.deepEqual(await logOf(), ['after\n']);
});

test('a flood of 64 MiB reaches a follower that stops reading for a while, every byte in order', async (t) => {
  const agent = await startAgent();
  t.after(() => agent.stop());
  const id = 'wl_flood0000001';
  const text = 'y'.repeat(95);
  await put(agent, { id, enabled: false, max_log_size_mb: 256, cmd: ['sh', '-c', `yes ${text} | head -c 64M; exec sleep 30`] });
  const ac = new AbortController();
  t.after(() => ac.abort());
  const res = await fetch(`${agent.url}/_warren/workloads/${id}/logs/stream?tail=0`, {
    headers: { authorization: `Bearer ${TEST_CONTROL_TOKEN}` }, signal: ac.signal,
  });
  const reader = res.body!.getReader();
  await ctl(agent, `/_warren/workloads/${id}/start`, { method: 'POST' });
  const hash = createHash('sha256');
  let got = 0;
  let events = 0;
  let buf = '';
  let paused = false;
  const decoder = new TextDecoder();
  while (got < 64 * MiB) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += decoder.decode(value, { stream: true });
    let i: number;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      if (!block.startsWith('data: ')) continue;
      const d = JSON.parse(block.slice(6)).data as string;
      hash.update(d);
      got += d.length;
      events++;
    }
    if (!paused && got > 4 * MiB) {
      paused = true;
      await sleep(1500); // the producer runs on; the agent must hold the rest on disk, not in memory
    }
  }
  assert.equal(got, 64 * MiB);
  const line = `${text}\n`;
  const expected = createHash('sha256').update(line.repeat(Math.ceil((64 * MiB) / line.length)).slice(0, 64 * MiB)).digest('hex');
  assert.equal(hash.digest('hex'), expected);
  assert.ok(events < 64 * MiB / (16 * 1024), `${events} events for 64 MiB`);
});
