/**
 * Addresses a workspace may reach because an allowed host name resolved to them.
 * Warren's resolver reports every answer (workspace, name, addresses with TTLs);
 * an address stays allowed until its TTL (at least `minTtlS`) runs out without
 * being seen again, so a name whose address changes keeps working (the new address
 * is admitted as soon as it is answered) and an old address closes on its own.
 * The policy compiler asks for the addresses of the names a workspace still lists.
 */
export interface Allowance {
  address: string;
  name: string;
  expiresAt: number;
}

export class DnsAllowances {
  /** workspace ip → `name address` → allowance */
  private readonly byIp = new Map<string, Map<string, Allowance>>();

  constructor(private readonly minTtlS: number, private readonly now: () => number = Date.now) {}

  /** Records an answer; true when it opened an address that was not open for that name. */
  add(ip: string, name: string, answers: Array<{ address: string; ttl: number }>): boolean {
    let forIp = this.byIp.get(ip);
    if (!forIp) this.byIp.set(ip, (forIp = new Map()));
    let opened = false;
    for (const a of answers) {
      const key = `${name} ${a.address}`;
      const expiresAt = this.now() + Math.max(a.ttl, this.minTtlS) * 1000;
      const prev = forIp.get(key);
      if (!prev || prev.expiresAt <= this.now()) opened = true;
      if (!prev || prev.expiresAt < expiresAt) forIp.set(key, { address: a.address, name, expiresAt });
    }
    return opened;
  }

  /** Unexpired addresses of `names` for the workspace at `ip`. */
  addressesFor(ip: string, names: readonly string[]): string[] {
    const forIp = this.byIp.get(ip);
    if (!forIp || names.length === 0) return [];
    const wanted = new Set(names);
    const t = this.now();
    const out = new Set<string>();
    for (const a of forIp.values()) if (a.expiresAt > t && wanted.has(a.name)) out.add(a.address);
    return [...out];
  }

  /** Drops expired entries; true when any went (the rules should be recompiled). */
  sweep(): boolean {
    const t = this.now();
    let dropped = false;
    for (const [ip, forIp] of this.byIp) {
      for (const [key, a] of forIp) if (a.expiresAt <= t) (forIp.delete(key), (dropped = true));
      if (forIp.size === 0) this.byIp.delete(ip);
    }
    return dropped;
  }

  /** Forgets a workspace (its address may be handed to another one later). */
  forget(ip: string): void {
    this.byIp.delete(ip);
  }

  /** Milliseconds until the next entry expires; null when none. */
  nextExpiryIn(): number | null {
    let next = Infinity;
    for (const forIp of this.byIp.values()) for (const a of forIp.values()) next = Math.min(next, a.expiresAt);
    return next === Infinity ? null : Math.max(0, next - this.now());
  }
}
