/**
 * Issue 15's found hang: "PUT /workspace/:id/lifecycle/ttl with no body while other calls hit
 * the same workspace" waited more than 10 s. Operations on one workspace queue on its lock
 * (src/domain/locks.ts); a record-only change queued behind long ones (restarts, snapshots,
 * archives) waited for all of them. This test queues long operations on one workspace and
 * times the record-only calls made meanwhile.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { api, startServer, type TestServer } from '../support/warren.js';
import { ensureTestImages } from '../support/images.js';
import { RECORD_LOCK_WAIT_MS } from '../../src/domain/record-changes.js';

let server: TestServer;
let id = '';

before(async () => {
  await ensureTestImages(['debian-12']);
  server = await startServer();
  const made = await api(server, 'POST', '/workspace', { image: 'debian-12', memory_mb: 128 });
  assert.equal(made.status < 300, true, made.text);
  id = made.body.id ?? made.body.workspace?.id;
});
after(async () => {
  await server?.stop();
});

async function timed(method: string, path: string, body?: unknown): Promise<{ status: number; ms: number; code?: string }> {
  const t = Date.now();
  const r = await api(server, method, path, body);
  return { status: r.status, ms: Date.now() - t, code: r.body?.code };
}

test('a record-only change answers promptly while long operations queue on the same workspace', { timeout: 180_000 }, async () => {
  const long = [
    timed('POST', `/workspace/${id}/restart`), timed('POST', `/workspace/${id}/snapshot`), timed('POST', `/workspace/${id}/restart`),
    timed('POST', `/workspace/${id}/archives`, {}), timed('POST', `/workspace/${id}/restart`), timed('POST', `/workspace/${id}/snapshot`),
    timed('POST', `/workspace/${id}/restart`), timed('POST', `/workspace/${id}/restart`),
  ];
  await new Promise((r) => setTimeout(r, 50));
  const quick = await Promise.all([
    timed('PUT', `/workspace/${id}/lifecycle/ttl`),
    timed('PUT', `/workspace/${id}/lifecycle/ttl`, { ttl: 'nonsense' }),
    timed('PATCH', `/workspace/${id}/metadata`, { fuzz: '1' }),
    timed('GET', `/workspace/${id}`),
  ]);
  const longDone = await Promise.all(long);
  console.log(`long: ${longDone.map((l) => `${l.status}/${l.ms}`).join(' ')}; quick: ${quick.map((q) => `${q.status}${q.code ? ' ' + q.code : ''}/${q.ms}`).join(' ')}`);
  // A refusal and a read never wait; a record-only change waits at most RECORD_LOCK_WAIT_MS, then
  // answers 409 conflict (busy) — either way well inside the issue's 10 s.
  const [ttl, badTtl, metadata, read] = quick as [typeof quick[0], typeof quick[0], typeof quick[0], typeof quick[0]];
  assert.equal(badTtl.status, 422, 'a bad ttl is refused');
  assert.ok(badTtl.ms < 2_000, `the bad ttl's refusal waited ${badTtl.ms} ms`);
  assert.ok(read.ms < 2_000, `the read waited ${read.ms} ms`);
  for (const q of [ttl, metadata]) {
    assert.ok(q.ms < RECORD_LOCK_WAIT_MS + 2_000, `a record-only call waited ${q.ms} ms (${q.status} ${q.code ?? ''})`);
    assert.ok(q.status === 200 || (q.status === 409 && q.code === 'conflict'), `answered ${q.status} ${q.code ?? ''}`);
  }
  for (const l of longDone) assert.ok(l.status < 500, `a long operation failed with ${l.status}`);
});
