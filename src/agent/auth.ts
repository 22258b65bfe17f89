/**
 * Runtime API authentication inside the workspace. The only credential the agent
 * knows is the raw connection token in the control directory (the gateway swaps the
 * client's JWT for it). It is re-read through `ControlDir` on every request, so a
 * rotation or a disable is enforced on the very next request.
 */
import type { IncomingMessage } from 'node:http';
import { createHash, timingSafeEqual } from 'node:crypto';
import { AppError } from '../contract/errors.js';

export interface TokenSource {
  /** The current token, or null when the runtime API is disabled. */
  token(): string | null;
}

/** The token a request carries: `Authorization: Bearer …` first, else `?token=`. */
export function requestToken(req: IncomingMessage, query: URLSearchParams): string | null {
  const header = req.headers.authorization;
  if (typeof header === 'string') {
    const m = /^\s*bearer\s+(\S+)\s*$/i.exec(header);
    if (m?.[1]) return m[1];
  }
  const fromQuery = query.get('token');
  return fromQuery && fromQuery.length > 0 ? fromQuery : null;
}

/** Throws `unauthorized` unless the request carries the current token. */
export function authenticate(source: TokenSource, req: IncomingMessage, query: URLSearchParams): void {
  const expected = source.token();
  if (expected === null) throw new AppError('unauthorized', 'Runtime API is disabled for this workspace');
  const given = requestToken(req, query);
  if (given === null) throw new AppError('unauthorized', 'Missing runtime token');
  if (!constantTimeEqual(given, expected)) throw new AppError('unauthorized', 'Invalid runtime token');
}

/** Hash-then-compare so neither content nor length of the token leaks through timing; `b` is the expected token. */
export function constantTimeEqual(a: string, b: string): boolean {
  return timingSafeEqual(sha256(a), expectedDigest(b));
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** The digests of the last expected tokens (runtime and control): they change only on rotation. */
const expectedDigests = new Map<string, Buffer>();

function expectedDigest(token: string): Buffer {
  let digest = expectedDigests.get(token);
  if (digest === undefined) {
    if (expectedDigests.size >= 4) expectedDigests.clear();
    digest = sha256(token);
    expectedDigests.set(token, digest);
  }
  return digest;
}
