/**
 * Rate limits (environment only; documented in README and SPECIFICATION), then HTTP limits below:
 *   WARREN_RATE_LIMIT        control-plane requests per second per caller (API key or token); 0 = off (default 100)
 *   WARREN_RATE_BURST        requests a caller may make at once (default 2 × the rate)
 *   WARREN_AUTH_FAILURES     failed API-key sign-ins per minute per client id and per source address (default 10);
 *                            past it the next check answers 429 before any scrypt runs
 */
import type { BucketConfig } from '../domain/rate-limit.js';

export interface RateLimits {
  requests: BucketConfig;
  authFailures: BucketConfig;
  /** Timeouts and the per-client connection cap of the HTTP servers (below). */
  http: HttpLimits;
}

function envNumber(env: NodeJS.ProcessEnv, name: string, dflt: number): number {
  const v = env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a number ≥ 0, got ${JSON.stringify(v)}`);
  return n;
}

export function loadRateLimits(env: NodeJS.ProcessEnv = process.env): RateLimits {
  const rate = envNumber(env, 'WARREN_RATE_LIMIT', 100);
  const burst = envNumber(env, 'WARREN_RATE_BURST', rate * 2);
  const failures = envNumber(env, 'WARREN_AUTH_FAILURES', 10);
  return {
    requests: { rate, burst: Math.max(1, burst) },
    authFailures: { rate: failures / 60, burst: Math.max(1, failures) },
    http: loadHttpLimits(env),
  };
}

/*
 * HTTP limits (environment only; documented in SPECIFICATION "Limits"). One set for every
 * HTTP server Warren runs (the main server: control plane, gateway, edge, console; and
 * each workspace's agent, which reads the same variables from its own environment).
 *   WARREN_HEADERS_TIMEOUT_MS          a request's headers must arrive within this (default 30 000): slow-loris
 *   WARREN_BODY_IDLE_TIMEOUT_MS        longest silence while a request body is still arriving (default 60 000);
 *                                      an upload that keeps moving may take as long as it needs
 *   WARREN_KEEP_ALIVE_TIMEOUT_MS       an idle keep-alive connection is closed after this (default 65 000)
 *   WARREN_MAX_CONNECTIONS_PER_CLIENT  open connections per remote address on the main server (default 1 024;
 *                                      0 = no cap); past it 429 rate_limited and the connection closed
 *   WARREN_SSH_HANDSHAKE_TIMEOUT_MS    the SSH jump host drops a connection that has not finished its
 *                                      handshake within this (default 10 000)
 * Nothing bounds a response: exec streams, SSE logs, WebSocket terminals and a 60 s create
 * run as long as they run.
 */
export interface HttpLimits {
  headersTimeoutMs: number;
  bodyIdleTimeoutMs: number;
  keepAliveTimeoutMs: number;
  maxConnectionsPerClient: number;
  sshHandshakeTimeoutMs: number;
}

export function loadHttpLimits(env: NodeJS.ProcessEnv = process.env): HttpLimits {
  return {
    headersTimeoutMs: Math.max(100, envNumber(env, 'WARREN_HEADERS_TIMEOUT_MS', 30_000)),
    bodyIdleTimeoutMs: Math.max(100, envNumber(env, 'WARREN_BODY_IDLE_TIMEOUT_MS', 60_000)),
    keepAliveTimeoutMs: Math.max(100, envNumber(env, 'WARREN_KEEP_ALIVE_TIMEOUT_MS', 65_000)),
    maxConnectionsPerClient: Math.floor(envNumber(env, 'WARREN_MAX_CONNECTIONS_PER_CLIENT', 1024)),
    sshHandshakeTimeoutMs: Math.max(100, envNumber(env, 'WARREN_SSH_HANDSHAKE_TIMEOUT_MS', 10_000)),
  };
}

const MiB = 1024 * 1024;

/**
 * Request body caps in bytes, enforced while the body streams (a declared Content-Length past
 * the cap is refused unread, a streamed body at the first chunk past it: 413 payload_too_large
 * with details.limit and details.field 'body'). The gateway refuses with the agent's own cap
 * for the same call, so a body is never relayed only to be refused behind it.
 */
export const BODY_LIMITS = {
  /** Control-plane JSON bodies. */
  controlPlaneJson: 1 * MiB,
  /** Runtime JSON calls (exec, terminals, watchers, mkdir, delete, download list…) and exec stdin. */
  runtimeJson: 16 * MiB,
  /** `POST|PUT /files/write`: one JSON body holding the whole content (the client sends 64 MiB files whole). */
  fileWrite: 1024 * MiB,
  /** `POST /files/transfer/upload`: a .tar.gz archive, spooled to disk. */
  tarUpload: 4096 * MiB,
  /** `/proxy…`: a request to the workspace's own app through the runtime API. */
  proxy: 1024 * MiB,
} as const;

/**
 * After a body is refused (413, 408) the answer is sent at once; what the client still sends is
 * read and discarded for at most this long and this many bytes, so a client that is still
 * uploading reads the refusal instead of a reset, then the connection is closed.
 */
export const REFUSED_BODY_DRAIN = { ms: 2_000, bytes: 64 * MiB } as const;
