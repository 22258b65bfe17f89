import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { StatsHub } from '../../domain/sampler.js';
import { sampleWorkspace } from '../../store/contract-fixtures.js';
import { statsStream } from './stats.js';

// The hub's and the heartbeat's timers are unref'd (they never hold a server open): keep the loop alive here.
const keepAlive = setInterval(() => {}, 1000);
after(() => clearInterval(keepAlive));

const hub = () => new StatsHub({
  sample: async () => ({
    cpuUsageNs: performance.now() * 1e6, memoryBytes: 1 << 20, memoryLimitBytes: 0, pids: 2, diskUsedBytes: 0, diskLimitBytes: 0,
    networkRxBytes: 0, networkTxBytes: 0,
  }),
  intervalMs: 200, primerMs: 20,
});

async function readSome(reader: ReadableStreamDefaultReader<Uint8Array>, until: (text: string) => boolean): Promise<string> {
  const decoder = new TextDecoder();
  let text = '';
  while (!until(text)) {
    const { done, value } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  return text;
}

test('SSE body: a comment first, one compact data line per tick, heartbeats, a final event and the end', async () => {
  const h = hub();
  const ws = sampleWorkspace({ state: 'running' });
  const reader = statsStream(h, ws, 50).body!.getReader();
  const first = await readSome(reader, (t) => (t.match(/^data: /gm) ?? []).length >= 2);
  assert.ok(first.startsWith(': ping\n\n'), 'headers flushed by a comment');
  assert.ok((first.match(/^: ping$/gm) ?? []).length >= 2, 'heartbeats between ticks');
  const lines = first.split('\n').filter((l) => l.startsWith('data: '));
  for (const l of lines) {
    const e = JSON.parse(l.slice(6));
    assert.equal(e.workspace_id, ws.id);
    assert.equal(e.state, 'running');
  }
  assert.equal(h.activeSamplers, 1);
  h.observe({ ...ws, state: 'stopped' }, ws.id);
  const rest = await readSome(reader, () => false);
  const last = rest.split('\n').filter((l) => l.startsWith('data: ')).at(-1)!;
  assert.equal(JSON.parse(last.slice(6)).state, 'stopped');
  assert.ok(rest.endsWith('\n\n'), 'every event is terminated');
  assert.equal((await reader.read()).done, true);
});

test('a client that goes away unsubscribes; the last one stops the sampler', async () => {
  const h = hub();
  const ws = sampleWorkspace({ state: 'running' });
  const a = statsStream(h, ws).body!.getReader();
  const b = statsStream(h, ws).body!.getReader();
  await readSome(a, (t) => t.includes('data: '));
  assert.equal(h.activeSamplers, 1, 'two streams, one sampler');
  await a.cancel();
  assert.equal(h.activeSamplers, 1);
  await b.cancel();
  assert.equal(h.activeSamplers, 0);
});
