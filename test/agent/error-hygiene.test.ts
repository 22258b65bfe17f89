/**
 * Error hygiene of the agent (issue 15): refusals carry codes, never tar's, ripgrep's,
 * node-pty's or Node's own text; a 5xx answers a fixed message with the request id, and
 * the agent's log holds the detail under that id. Regressions for the leaks found in
 * src/agent/routes/transfer.ts, src/agent/routes/search.ts and src/agent/terminals/session.ts.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { startAgent, type AgentHandle } from './harness.js';
import { findLeaks } from '../support/leaks.js';

let agent: AgentHandle;
let dir: string;
const enc = encodeURIComponent;

before(async () => {
  agent = await startAgent();
  dir = mkdtempSync(join(tmpdir(), 'whygiene-'));
});
after(async () => {
  await agent?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The answer must be a clean refusal: the expected code, no leak (the caller's own paths allowed). */
function assertClean(r: { status: number; body: any; text: string }, status: number, code: string, allow: string[] = []): void {
  assert.equal(r.status, status, r.text);
  assert.equal(r.body?.success, false, r.text);
  assert.equal(r.body.code, code, r.text);
  assert.deepEqual(findLeaks(r.body, { allow }), [], r.text);
  if (status >= 500) assert.match(r.body.request_id, /^[A-Za-z0-9._:-]+$/, 'a 5xx names its request id');
}

async function upload(dest: string, body: Buffer) {
  const res = await fetch(`${agent.url}/files/transfer/upload?dest=${enc(dest)}`, {
    method: 'POST', headers: { authorization: `Bearer ${'a'.repeat(64)}`, 'content-type': 'application/gzip' }, body,
  });
  const text = await res.text();
  return { status: res.status, body: JSON.parse(text), text };
}

test('an upload that is not a tar.gz is refused without tar\'s text or the spool path', async () => {
  const r = await upload(join(dir, 'a'), Buffer.from('definitely not gzip data'));
  assertClean(r, 400, 'bad_request', [join(dir, 'a')]);
  assert.equal(r.body.details.reason, 'invalid_archive');
});

test('an archive tar cannot extract is refused with a reason code, not tar\'s stderr', async () => {
  // The archive holds a file `blocker`; dest has a non-empty directory of that name,
  // which tar cannot replace ("Cannot open: File exists").
  const src = join(dir, 'src');
  mkdirSync(src);
  writeFileSync(join(src, 'blocker'), 'x');
  const archive = execFileSync('tar', ['-cz', '-C', src, 'blocker']);
  const dest = join(dir, 'dest');
  mkdirSync(join(dest, 'blocker'), { recursive: true });
  writeFileSync(join(dest, 'blocker/child'), 'in the way');
  const r = await upload(dest, archive);
  assertClean(r, 400, 'bad_request', [dest]);
  assert.equal(r.body.details.reason, 'extract_failed');
});

test('an invalid regex is refused without ripgrep\'s text', async () => {
  writeFileSync(join(dir, 'f.txt'), 'hello\n');
  const r = await agent.call(`/files/search?path=${enc(dir)}&q=${enc('(unclosed')}&regex=true`);
  assertClean(r, 400, 'bad_request', [dir]);
  assert.deepEqual(r.body.details, { field: 'q', reason: 'invalid_regex' });
});

test('a terminal on a missing shell is a 500 spawn_failed with a reason, no OS text', async () => {
  const r = await agent.call('/terminals', { method: 'POST', body: JSON.stringify({ cmd: ['/no/such/shell'] }) });
  assertClean(r, 500, 'spawn_failed');
  assert.equal(r.body.details.reason, 'command_not_found');
});

test('a 5xx carries the request id of its header, and the log holds the detail under it', async () => {
  const r = await agent.call('/exec', { method: 'POST', body: JSON.stringify({ cmd: ['/nonexistent/binary'] }) });
  assertClean(r, 500, 'spawn_failed');
  assert.equal(r.body.details.reason, 'ENOENT');
  const id = r.body.request_id as string;
  const logged = await waitForLog((line) => line.request_id === id);
  assert.equal(logged.msg, 'server fault');
  assert.equal(logged.code, 'spawn_failed');
  assert.match(String(logged.err), /Failed to start command: spawn \/nonexistent\/binary ENOENT/);
});

test('the caller\'s x-request-id is kept when safe, replaced when not', async () => {
  const mine = await agent.call('/files/stat?path=%2Fno%2Fsuch', { headers: { 'x-request-id': 'gw-abc.123' } });
  assert.equal(mine.status, 404);
  const kept = await fetch(`${agent.url}/exec`, {
    method: 'POST', body: JSON.stringify({ cmd: ['/nonexistent/x'] }),
    headers: { authorization: `Bearer ${'a'.repeat(64)}`, 'content-type': 'application/json', 'x-request-id': 'gw-abc.123' },
  });
  assert.equal(kept.headers.get('x-request-id'), 'gw-abc.123');
  assert.equal(((await kept.json()) as any).request_id, 'gw-abc.123');
  const forged = await fetch(`${agent.url}/health`, { headers: { 'x-request-id': 'a b"}{' } });
  assert.match(forged.headers.get('x-request-id') ?? '', /^req_[0-9a-f]{16}$/);
});

test('a proxy to a closed port answers 502 with the errno as reason, no address', async () => {
  const port = await freePort();
  const r = await agent.call('/proxy/x', { headers: { 'x-oblien-proxy-target': String(port) } });
  assertClean(r, 502, 'upstream_unreachable');
  assert.equal(r.body.details.reason, 'ECONNREFUSED');
});

test('a download of a missing path names only the caller\'s path', async () => {
  const missing = join(dir, 'nope');
  const r = await agent.call('/files/transfer/download', { method: 'POST', body: JSON.stringify({ paths: [missing] }) });
  assertClean(r, 404, 'not_found', [missing]);
});

async function waitForLog(pred: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
  for (let i = 0; i < 50; i++) {
    for (const raw of agent.stderr().split('\n')) {
      try {
        const line = JSON.parse(raw) as Record<string, unknown>;
        if (pred(line)) return line;
      } catch {
        // not a JSON line
      }
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no matching log line in:\n${agent.stderr().slice(-2000)}`);
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

