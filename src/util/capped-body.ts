/**
 * Request bodies capped in bytes while they stream — one rule for every reader Warren has
 * (the control plane's web ReadableStream, the agent's and the gateway's IncomingMessage):
 * a declared Content-Length past the cap is refused before anything is read, and a body
 * without one (chunked) is refused at the first chunk that crosses it. Nothing is read
 * whole first, and sizes are bytes, never characters.
 *
 * The refusal is 413 `payload_too_large` with `details.limit` (bytes) and `details.field`.
 */
import type { IncomingMessage } from 'node:http';
import { AppError } from '../contract/errors.js';

export function bodyTooLarge(limit: number, field = 'body'): AppError {
  return new AppError('payload_too_large', `Request body is larger than ${limit} bytes`, { field, limit });
}

/** The declared Content-Length, or null when there is none (chunked or bodiless). */
export function declaredLength(header: string | string[] | undefined | null): number | null {
  if (header === undefined || header === null || Array.isArray(header) || header === '') return null;
  const n = Number(header);
  return Number.isFinite(n) && n >= 0 ? n : null;
}

/** Throws the 413 when the declared length alone is past the cap. */
export function refuseDeclared(header: string | string[] | undefined | null, limit: number, field = 'body'): void {
  const declared = declaredLength(header);
  if (declared !== null && declared > limit) throw bodyTooLarge(limit, field);
}

/**
 * Yields the chunks of `source`, throwing the 413 at the first chunk past `limit`. The
 * consumer's loop ends there; what happens to the rest of the source is the source's
 * iterator's business (see `requestChunks` for a request that must stay answerable).
 */
export async function* cappedChunks<T extends Uint8Array>(
  source: AsyncIterable<T>, limit: number, field = 'body',
): AsyncGenerator<T, void, undefined> {
  let total = 0;
  for await (const chunk of source) {
    total += chunk.byteLength;
    if (total > limit) throw bodyTooLarge(limit, field);
    yield chunk;
  }
}

/** The whole body, under the cap (refused as above). */
export async function readCapped(
  source: AsyncIterable<Uint8Array>, declared: string | string[] | undefined | null, limit: number, field = 'body',
): Promise<Buffer> {
  refuseDeclared(declared, limit, field);
  const chunks: Uint8Array[] = [];
  for await (const chunk of cappedChunks(source, limit, field)) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/**
 * A Node request's chunks for `cappedChunks`/`readCapped`. Leaving the loop early (the cap,
 * a parse error) must not destroy the request: that would reset the socket before the 413
 * is written. The unread rest is left to `lingerThenClose` (src/util/http-guards.ts).
 */
export function requestChunks(req: IncomingMessage): AsyncIterable<Buffer> {
  return req.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>;
}

/**
 * The chunks of a web ReadableStream (the control plane's request body), failing with 408
 * `request_timeout` (field body) when no chunk arrives for `idleMs`. Leaving the loop early
 * cancels the stream.
 */
export async function* webStreamChunks(stream: ReadableStream<Uint8Array>, idleMs: number): AsyncGenerator<Uint8Array, void, undefined> {
  const reader = stream.getReader();
  let finished = false;
  try {
    for (;;) {
      const { done, value } = await withIdleTimeout(reader.read(), idleMs);
      if (done) {
        finished = true;
        return;
      }
      yield value;
    }
  } finally {
    if (!finished) await reader.cancel().catch(() => undefined);
  }
}

function withIdleTimeout<T>(read: Promise<T>, idleMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new AppError('request_timeout', `The request body stopped arriving for ${idleMs} ms`, {
      field: 'body', limit_ms: idleMs,
    })), idleMs);
  });
  return Promise.race([read, timeout]).finally(() => clearTimeout(timer));
}
