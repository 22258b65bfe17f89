import { describe, expect, it } from 'vitest';
import { ApiError } from '../api/errors.js';
import { afterStream, backoff, MAX_BACKOFF_MS } from './stream-policy.js';

const apiError = (status: number) => new ApiError(status, { code: 'x', message: 'm' }, 'f');

describe('afterStream', () => {
  it('a stream that ends by design (boot) just ends', () => {
    expect(afterStream({ ended: true, live: true, follows: false, attempt: 0 })).toEqual({ phase: 'ended', retryInMs: null });
  });

  it('a following stream that drops while the workspace runs reconnects, slower each time', () => {
    expect(afterStream({ ended: true, live: true, follows: true, attempt: 0 })).toEqual({ phase: 'reconnecting', retryInMs: 1000 });
    expect(afterStream({ ended: true, live: true, follows: true, attempt: 2 }).retryInMs).toBe(4000);
    expect(backoff(20)).toBe(MAX_BACKOFF_MS);
  });

  it('waits for the workspace when it is not running', () => {
    expect(afterStream({ ended: true, live: false, follows: true, attempt: 0 })).toEqual({ phase: 'waiting', retryInMs: null });
    expect(afterStream({ ended: false, error: apiError(409), live: false, follows: true, attempt: 0 })).toEqual({ phase: 'waiting', retryInMs: null });
    expect(afterStream({ ended: false, error: apiError(409), live: true, follows: true, attempt: 0 }).retryInMs).toBe(5000);
  });

  it('retries network and server errors, not refusals', () => {
    expect(afterStream({ ended: false, error: apiError(0), live: true, follows: true, attempt: 1 })).toEqual({ phase: 'reconnecting', retryInMs: 2000 });
    expect(afterStream({ ended: false, error: apiError(502), live: true, follows: true, attempt: 0 }).phase).toBe('reconnecting');
    expect(afterStream({ ended: false, error: apiError(404), live: true, follows: true, attempt: 0 })).toEqual({ phase: 'error', retryInMs: null });
    expect(afterStream({ ended: false, error: new TypeError('network error'), live: true, follows: true, attempt: 0 }).phase).toBe('reconnecting');
  });
});
