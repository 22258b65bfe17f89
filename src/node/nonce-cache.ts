/**
 * Single use of node tokens: a nonce is claimed once until its token expires. Entries
 * are dropped once expired; past `max` live entries new claims are refused (a flood of
 * valid tokens cannot grow memory without bound; callers retry with fresh tokens).
 */
export class NonceCache {
  private readonly seen = new Map<string, number>();

  constructor(private readonly max = 200_000, private readonly now: () => number = Date.now) {}

  /** True the first time a nonce is claimed before `expiresAt`; false when replayed (or full). */
  claim(nonce: string, expiresAt: number): boolean {
    if (this.seen.has(nonce)) return false;
    if (this.seen.size >= this.max) this.prune();
    if (this.seen.size >= this.max) return false;
    this.seen.set(nonce, expiresAt);
    return true;
  }

  get size(): number {
    return this.seen.size;
  }

  private prune(): void {
    const now = this.now();
    for (const [nonce, exp] of this.seen) if (exp <= now) this.seen.delete(nonce);
  }
}
