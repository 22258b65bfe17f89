import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Hono } from 'hono';
import { isAppError } from '../contract/errors.js';
import type { Env } from './context.js';
import { readJson } from './http.js';

/** A route that answers what readJson made of the body, or the code it refused with. */
function app(): Hono<Env> {
  return new Hono<Env>().post('/x', async (c) => {
    try {
      return c.json({ body: await readJson(c) });
    } catch (err) {
      if (!isAppError(err)) throw err;
      return c.json({ code: err.code, field: err.details?.field }, 400);
    }
  });
}

const post = async (body: BodyInit, headers: Record<string, string> = {}) =>
  app().request('/x', { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });

test('readJson: JSON and empty bodies pass; the cap is in bytes, not characters', async () => {
  assert.deepEqual(await (await post('{"a":"é"}')).json(), { body: { a: 'é' } });
  assert.deepEqual(await (await post('')).json(), { body: {} });
  // 600,000 two-byte characters: 1.2 MB, under the cap when counted in characters
  const wide = JSON.stringify({ s: 'é'.repeat(600_000) });
  assert.ok(wide.length < 1024 * 1024 && Buffer.byteLength(wide) > 1024 * 1024);
  assert.deepEqual(await (await post(wide)).json(), { code: 'payload_too_large', field: 'body' });
});

test('readJson: a declared length past the cap is refused before reading; a streamed body at the first chunk past it', async () => {
  let pulled = 0;
  const endless = new ReadableStream<Uint8Array>({
    pull(ctrl) {
      pulled++;
      ctrl.enqueue(new Uint8Array(64 * 1024).fill(0x20));
    },
  });
  const res = await app().request('/x', { method: 'POST', body: endless, duplex: 'half' } as RequestInit);
  assert.deepEqual(await res.json(), { code: 'payload_too_large', field: 'body' });
  assert.ok(pulled <= 20, `stopped reading after ${pulled} chunks of 64 KiB`);
  // the declared length alone decides: the two bytes sent are never read
  const declared = await post('{}', { 'content-length': String(2 * 1024 * 1024) });
  assert.deepEqual(await declared.json(), { code: 'payload_too_large', field: 'body' });
});

test('readJson: bad JSON and bad UTF-8 are 400 with field body', async () => {
  assert.deepEqual(await (await post('{nope')).json(), { code: 'bad_request', field: 'body' });
  assert.deepEqual(await (await post(new Uint8Array([0x7b, 0xff, 0x7d]))).json(), { code: 'bad_request', field: 'body' });
});
