/**
 * What a followed stream does once it ends or fails — pure, so it is tested without a
 * network. A stream that needs a running workspace waits for one; one that drops while the
 * workspace runs comes back after a growing delay (1 s, 2 s, 4 s … at most 15 s); a
 * refusal that retrying cannot fix (404, 403, 400) stays an error until the user retries.
 */
import { ApiError } from '../api/errors.js';

export type StreamPhase = 'idle' | 'connecting' | 'open' | 'ended' | 'waiting' | 'reconnecting' | 'error';

export interface StreamOutcome {
  phase: StreamPhase;
  /** Reconnect after this many ms (null: not by itself). */
  retryInMs: number | null;
}

export interface PolicyInput {
  /** The stream ended normally (false: it failed with `error`). */
  ended: boolean;
  error?: unknown;
  /** Whether the workspace is in a state where the stream can be open. */
  live: boolean;
  /** Whether this stream follows (cmd, workloads, stats) or ends by design (boot). */
  follows: boolean;
  /** Failed attempts in a row (0 for the first). */
  attempt: number;
}

export const MAX_BACKOFF_MS = 15_000;

export function backoff(attempt: number): number {
  return Math.min(MAX_BACKOFF_MS, 1000 * 2 ** Math.max(0, attempt));
}

export function afterStream(i: PolicyInput): StreamOutcome {
  if (i.ended) {
    if (!i.follows) return { phase: 'ended', retryInMs: null };
    return i.live ? { phase: 'reconnecting', retryInMs: backoff(i.attempt) } : { phase: 'waiting', retryInMs: null };
  }
  const err = i.error;
  if (err instanceof ApiError) {
    // The workspace is not running (yet, or any more): wait for it; poll slowly if the view thinks it runs.
    if (err.status === 409) return { phase: 'waiting', retryInMs: i.live ? 5000 : null };
    if (err.status === 0 || err.status >= 500 || err.status === 429) return { phase: 'reconnecting', retryInMs: backoff(i.attempt) };
    return { phase: 'error', retryInMs: null };
  }
  // A dropped connection mid-body (TypeError from the reader) is retried like an end.
  return i.live ? { phase: 'reconnecting', retryInMs: backoff(i.attempt) } : { phase: 'waiting', retryInMs: null };
}
