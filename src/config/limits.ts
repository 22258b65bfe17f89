/**
 * Rate limits (environment only; documented in README and SPECIFICATION):
 *   WARREN_RATE_LIMIT        control-plane requests per second per caller (API key or token); 0 = off (default 100)
 *   WARREN_RATE_BURST        requests a caller may make at once (default 2 × the rate)
 *   WARREN_AUTH_FAILURES     failed API-key sign-ins per minute per client id and per source address (default 10);
 *                            past it the next check answers 429 before any scrypt runs
 */
import type { BucketConfig } from '../domain/rate-limit.js';

export interface RateLimits {
  requests: BucketConfig;
  authFailures: BucketConfig;
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
  };
}
