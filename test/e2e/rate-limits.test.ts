/**
 * Rate limits (issue 11 §6): a caller past its request rate gets 429 in the usual error
 * envelope with Retry-After; failed API-key sign-ins are throttled per client id and per
 * source address before any scrypt runs, while a key already verified keeps working.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN, api, startServer, type TestServer } from '../support/warren.js';

let server: TestServer;

before(async () => {
  server = await startServer({ env: { WARREN_RATE_LIMIT: '5', WARREN_RATE_BURST: '5', WARREN_AUTH_FAILURES: '3' } });
});
after(async () => {
  await server?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function raw(headers: Record<string, string>) {
  const res = await fetch(`${server.url}/workspace/quota`, { headers });
  return { status: res.status, retry: res.headers.get('retry-after'), body: await res.json() as any };
}

test('past the request rate: 429 rate_limited with Retry-After, then allowed again', async () => {
  const admin = { 'x-client-id': ADMIN.clientId, 'x-client-secret': ADMIN.clientSecret };
  const answers = [];
  for (let i = 0; i < 7; i++) answers.push(await raw(admin));
  assert.deepEqual(answers.slice(0, 5).map((a) => a.status), [200, 200, 200, 200, 200]);
  const limited = answers[6]!;
  assert.equal(limited.status, 429);
  assert.equal(limited.body.code, 'rate_limited');
  assert.equal(limited.body.success, false);
  assert.ok(Number(limited.retry) >= 1, `Retry-After ${limited.retry}`);
  await sleep(1200);
  assert.equal((await raw(admin)).status, 200);
  assert.equal((await api(server, 'GET', '/healthz')).status, 200, 'public paths are not limited');
});

test('failed sign-ins: throttled before scrypt per client id and address; a verified key still works', async () => {
  await sleep(1200); // the admin's request bucket refills
  const wrong = { 'x-client-id': 'nobody', 'x-client-secret': 'wrong-secret' };
  const first = [];
  for (let i = 0; i < 3; i++) first.push((await raw(wrong)).status);
  assert.deepEqual(first, [401, 401, 401]);
  const t0 = performance.now();
  const throttled = await raw(wrong);
  const ms = performance.now() - t0;
  assert.equal(throttled.status, 429);
  assert.equal(throttled.body.code, 'rate_limited');
  assert.ok(Number(throttled.retry) >= 1);
  assert.ok(ms < 40, `a throttled check answered in ${ms.toFixed(1)} ms (no scrypt)`);
  const otherId = await raw({ 'x-client-id': 'someone-else', 'x-client-secret': 'also-wrong' });
  assert.equal(otherId.status, 429, 'the source address is throttled too');
  const admin = await raw({ 'x-client-id': ADMIN.clientId, 'x-client-secret': ADMIN.clientSecret });
  assert.equal(admin.status, 200, 'a key verified before answers from its cache');
});
