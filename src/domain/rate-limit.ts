/**
 * Token buckets by key: `rate` tokens per second refill a bucket of `burst`. Used for the
 * per-caller request rate (429 + Retry-After) and for failed sign-ins per client id and
 * per source address, checked before any scrypt runs, so wrong secrets cannot burn the
 * CPU. Buckets that are full again are dropped; at most `maxKeys` are kept (the oldest
 * go first), so a flood of distinct keys cannot grow memory.
 */
export interface BucketConfig {
  /** Tokens per second; 0 disables the limiter (every take succeeds). */
  rate: number;
  burst: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export type Take = { ok: true } | { ok: false; retryAfterS: number };

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly cfg: BucketConfig,
    private readonly now: () => number = () => performance.now(),
    private readonly maxKeys = 100_000,
  ) {}

  get enabled(): boolean {
    return this.cfg.rate > 0;
  }

  /** Tokens left for `key` now (refilled), without taking any. */
  peek(key: string): number {
    if (!this.enabled) return Infinity;
    return this.refill(key).tokens;
  }

  /** Takes `cost` tokens, or says when enough will be there. */
  take(key: string, cost = 1): Take {
    if (!this.enabled) return { ok: true };
    const b = this.refill(key);
    if (b.tokens >= cost) {
      b.tokens -= cost;
      this.remember(key, b);
      return { ok: true };
    }
    return { ok: false, retryAfterS: Math.max(1, Math.ceil((cost - b.tokens) / this.cfg.rate)) };
  }

  /** Seconds until one token is there (0 when one is). */
  waitFor(key: string): number {
    const t = this.peek(key);
    return t >= 1 ? 0 : Math.max(1, Math.ceil((1 - t) / this.cfg.rate));
  }

  private refill(key: string): Bucket {
    const now = this.now();
    const b = this.buckets.get(key);
    if (!b) return { tokens: this.cfg.burst, at: now };
    const tokens = Math.min(this.cfg.burst, b.tokens + ((now - b.at) / 1000) * this.cfg.rate);
    return { tokens, at: now };
  }

  private remember(key: string, b: Bucket): void {
    this.buckets.delete(key); // re-insert: the Map's order is the age order
    if (b.tokens < this.cfg.burst) this.buckets.set(key, b);
    while (this.buckets.size > this.maxKeys) {
      const oldest = this.buckets.keys().next().value as string;
      this.buckets.delete(oldest);
    }
  }
}
