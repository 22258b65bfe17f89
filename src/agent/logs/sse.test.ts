import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { EntryLog } from './entry-log.js';
import { streamLog } from './sse.js';

test('a follower that disconnects frees its listener; removing the log ends the stream', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wtest-sse-'));
  const log = new EntryLog(join(dir, 'x.log'), 1024 * 1024);
  const server = createServer((_req, res) => streamLog(res, log, 10, { workload_id: 'w' }));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
  log.write('stdout', Buffer.from('before\n'));

  const ac = new AbortController();
  const res = await fetch(url, { signal: ac.signal });
  const reader = res.body!.getReader();
  const first = Buffer.from((await reader.read()).value!).toString();
  assert.match(first, /^data: \{"data":"before\\n","stream":"stdout","timestamp":"[^"]+","workload_id":"w"\}\n\n/);
  assert.equal(log.followers, 1);
  ac.abort();
  for (let i = 0; i < 50 && log.followers > 0; i++) await sleep(10);
  assert.equal(log.followers, 0);

  const res2 = await fetch(url);
  const text = res2.text();
  await sleep(50);
  log.write('stderr', Buffer.from('live\n'));
  log.remove();
  const body = await text;
  assert.deepEqual(body.trim().split('\n\n').map((b) => JSON.parse(b.slice(6)).data), ['before\n', 'live\n']);
  assert.equal(log.followers, 0);
});
