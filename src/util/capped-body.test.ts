import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isAppError } from '../contract/errors.js';
import { declaredLength, readCapped, webStreamChunks } from './capped-body.js';

async function* chunks(n: number, size: number, pulled: { n: number }) {
  for (let i = 0; i < n; i++) {
    pulled.n++;
    yield new Uint8Array(size);
  }
}

const refusal = (code: string, field: string, extra: Record<string, unknown> = {}) => (err: unknown) => {
  assert.ok(isAppError(err));
  assert.equal(err.code, code);
  assert.equal(err.details?.field, field);
  for (const [k, v] of Object.entries(extra)) assert.equal(err.details?.[k], v);
  return true;
};

test('readCapped: the cap is in bytes, exact at the limit, refused at the first chunk past it', async () => {
  const pulled = { n: 0 };
  assert.equal((await readCapped(chunks(4, 256, pulled), null, 1024)).length, 1024);
  pulled.n = 0;
  await assert.rejects(readCapped(chunks(1_000_000, 256, pulled), null, 1024), refusal('payload_too_large', 'body', { limit: 1024 }));
  assert.equal(pulled.n, 5, 'stopped at the fifth chunk');
});

test('readCapped: a declared length past the cap is refused before anything is read', async () => {
  const pulled = { n: 0 };
  await assert.rejects(readCapped(chunks(1, 1, pulled), '2048', 1024, 'content'), refusal('payload_too_large', 'content', { limit: 1024 }));
  assert.equal(pulled.n, 0);
  assert.equal(declaredLength('12'), 12);
  assert.equal(declaredLength(undefined), null);
  assert.equal(declaredLength('abc'), null);
});

test('webStreamChunks: a stream that stops sending is a 408 request_timeout, and is cancelled', async () => {
  let cancelled = false;
  const stalled = new ReadableStream<Uint8Array>({
    start(ctrl) {
      ctrl.enqueue(new Uint8Array(3));
    },
    cancel() {
      cancelled = true;
    },
  });
  await assert.rejects(readCapped(webStreamChunks(stalled, 100), null, 1024), refusal('request_timeout', 'body', { limit_ms: 100 }));
  assert.ok(cancelled);
});
