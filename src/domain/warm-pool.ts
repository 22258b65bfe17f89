/**
 * The warm pool: sandboxes made ahead of demand — layer mounted, namespaces and cgroups
 * made, address given, firewall port registered, agent listening — so that a create only
 * hands one over (Orchestrator.adopt) instead of booting one (≈ 400 ms here).
 *
 * Contracts:
 * - A pooled sandbox was never used: its agent holds the workspace's boot (no cmd,
 *   workloads or sshd) and has no runtime token, so nothing but the host can reach it, and
 *   it goes to exactly one workspace (`take` runs under the create lock). A taken entry is the
 *   taking reservation's until it is assigned to the stored record or put back (a node settles
 *   one nobody assigned: src/node/pool-handoff.ts). Entries are never recycled: a workspace's
 *   sandbox is destroyed with the workspace, never returned.
 * - One pool per image that creates asked for lately (at most `maxImages`, most recent
 *   kept), pinned to the image's stored id: a rebuilt image's entries are dropped. Any size
 *   fits any entry (limits and the disk quota are set at adoption).
 * - Refills run one sandbox at a time, only while no workspace boots and none was handed
 *   over in the last QUIET_MS, in a cgroup of `resources.cpus`: the pool never takes the CPU a
 *   live create (and the enable and first calls that follow it) needs.
 * - Entries live in `<workspacesDir>/.pool/<shortId>/` and only in memory besides: a
 *   restart (or kill -9) destroys what is there (`sweep`) and refills.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SandboxSpec } from '../drivers/driver.js';
import { AGENT_PORT, AGENT_READY_TIMEOUT_MS, type DomainDeps } from './ports.js';
import { sandboxSpec, writePoolControlFiles } from './sandbox-spec.js';
import { hostnameOf } from './view.js';

export interface WarmPoolOptions {
  /** Ready sandboxes kept per image; 0 turns the pool off. */
  size: number;
  /** How many images have a pool at once (the ones most recently created from). */
  maxImages: number;
  /** Limits of a waiting sandbox (the workspace's are set when it is adopted). */
  resources: { cpus: number; memoryMb: number; diskMb: number };
  /** A free address of the subnet, not a record's and not in `held` (taken under the create lock). */
  reserveAddress: (held: ReadonlySet<string>) => Promise<string>;
  /** Whether a workspace boots now: refills wait for that to end. */
  busy: () => boolean;
}

/** One ready sandbox. */
export interface PoolEntry {
  shortId: string;
  ip: string;
  /** `<workspacesDir>/.pool/<shortId>`: holds `control/` and `sandbox/`, as a workspace's dir does. */
  dir: string;
  image: string;
  imageId: string;
}

const POOL_DIR = '.pool';
/** After a failed refill, before the next try. */
const RETRY_MS = 5_000;
/** How often a waiting refill looks again whether the host is still busy. */
const BUSY_POLL_MS = 20;
/**
 * A refill starts only this long after the last sandbox was taken or claimed: a client that
 * just created a workspace enables and calls it next, and a refill's boot (≈ 400 ms of work
 * over 2 cores here) would slow exactly those calls.
 */
const QUIET_MS = 300;

const keyOf = (image: string, imageId: string) => `${image}@${imageId}`;

export class WarmPool {
  private readonly ready: PoolEntry[] = [];
  private readonly assigned = new Map<string, PoolEntry>();
  /** Taken by a reservation, not yet assigned or put back: short id → entry. */
  private readonly taken = new Map<string, PoolEntry>();
  /** Addresses of every entry made, being made, or taken and not yet a record's. */
  private readonly held = new Set<string>();
  /** Pools wanted, most recent last: key → image and id. */
  private readonly wanted = new Map<string, { image: string; imageId: string }>();
  private filling: Promise<void> | null = null;
  /** A refill was asked for while the loop ran: it looks again once it ends. */
  private refillAgain = false;
  private closed = false;
  /** When a sandbox was last taken or claimed (performance.now()). */
  private lastUse = -Infinity;

  constructor(private readonly deps: DomainDeps, private readonly opts: WarmPoolOptions) {}

  get enabled(): boolean {
    return this.opts.size > 0 && !this.closed;
  }

  /** Addresses the pool holds: a new record must not get one. */
  heldAddresses(): ReadonlySet<string> {
    return this.held;
  }

  /** Counts for the operator (GET /metrics, logs). */
  counts(): { ready: number; images: number } {
    return { ready: this.ready.length, images: this.wanted.size };
  }

  /** A create asked for `image`: keep a pool of it, dropping the least recent one past `maxImages`. */
  want(image: string, imageId: string | null): void {
    if (!this.enabled || !imageId) return;
    const key = keyOf(image, imageId);
    this.wanted.delete(key);
    this.wanted.set(key, { image, imageId });
    for (const [k, w] of this.wanted) {
      const stale = w.image === image && k !== key; // the name now stands for another build
      if (stale || this.wanted.size > this.opts.maxImages) this.wanted.delete(k);
    }
    this.dropUnwanted();
    this.refill();
  }

  /** A ready sandbox for a new workspace of `image` (that exact build); null when none waits. */
  take(image: string, imageId: string | null): PoolEntry | null {
    if (!this.enabled || !imageId) return null;
    const i = this.ready.findIndex((e) => e.image === image && e.imageId === imageId);
    if (i < 0) return null;
    const [entry] = this.ready.splice(i, 1);
    this.taken.set(entry!.shortId, entry!);
    this.lastUse = performance.now();
    this.refill();
    return entry ?? null;
  }

  /** The entry of that short id taken by `take` and neither assigned nor put back yet. */
  takenEntry(shortId: string): PoolEntry | undefined {
    return this.taken.get(shortId);
  }

  /** The taken entry is workspace `id`'s (its record is stored): its first boot adopts it. */
  assign(id: string, entry: PoolEntry): void {
    this.taken.delete(entry.shortId);
    this.assigned.set(id, entry);
    this.held.delete(entry.ip); // the record holds the address now
  }

  /** A taken entry whose record was not stored: it waits again, unused. */
  putBack(entry: PoolEntry): void {
    this.taken.delete(entry.shortId);
    if (this.closed) void this.destroy(entry);
    else this.ready.push(entry);
  }

  /**
   * The entry assigned to workspace `id`, handed over once. A record that holds a taken entry
   * (its short id and address) whose assignment never came (its replica died after storing
   * it) gets that entry too.
   */
  claim(id: string, holder?: { shortId: string; ip: string }): PoolEntry | undefined {
    const pending = holder && this.taken.get(holder.shortId);
    if (pending && pending.ip === holder.ip && !this.assigned.has(id)) this.assign(id, pending);
    const entry = this.assigned.get(id);
    this.assigned.delete(id);
    if (entry) this.lastUse = performance.now();
    return entry;
  }

  /** The spec an entry's sandbox was made with (its own identity, before adoption). */
  specOf(entry: PoolEntry, layers: string[]): SandboxSpec {
    return sandboxSpec({
      id: `pool-${entry.shortId}`,
      shortId: entry.shortId,
      hostname: hostnameOf({ slug: null, shortId: entry.shortId }),
      image: entry.image,
      resources: this.opts.resources,
      env: {},
      ip: entry.ip,
      dir: entry.dir,
    }, { layers }, this.deps);
  }

  /** At start, before the reconciler: what an earlier run left in the pool goes. */
  async sweep(): Promise<void> {
    const root = this.root();
    for (const shortId of await this.deps.dirs.list(root).catch(() => [] as string[])) {
      if (!/^[0-9a-f]{8}$/.test(shortId)) continue;
      await this.destroy({ shortId, ip: '', dir: join(root, shortId), image: '', imageId: '' });
    }
    await this.deps.dirs.remove(root);
  }

  /** Stops refilling and destroys every waiting sandbox (server shutdown). */
  async close(): Promise<void> {
    this.closed = true;
    await this.filling?.catch(() => undefined);
    for (const entry of this.ready.splice(0)) await this.destroy(entry);
    for (const entry of [...this.taken.values()]) await this.destroy(entry);
    this.taken.clear();
  }

  /** Removes an entry's sandbox, firewall port and files; `ip` may be '' when unknown (sweep). */
  async destroy(entry: PoolEntry): Promise<void> {
    const spec = this.specOf(entry, []);
    try {
      await this.deps.driver.destroy(spec);
      if (entry.ip) await this.deps.firewall.unregister({ ip: entry.ip, hostIf: this.deps.hostIfName(entry.shortId) });
      await this.deps.dirs.remove(entry.dir);
    } catch (err) {
      this.deps.log('warn', 'a pooled sandbox could not be removed', { shortId: entry.shortId, err: String(err) });
    } finally {
      if (entry.ip) this.held.delete(entry.ip);
    }
  }

  /** A workspace boots, a taken sandbox waits for its boot, or one was handed over a moment ago. */
  private busy(): boolean {
    return this.opts.busy() || this.assigned.size > 0 || performance.now() - this.lastUse < QUIET_MS;
  }

  private root(): string {
    return join(this.deps.paths.workspacesDir, POOL_DIR);
  }

  private dropUnwanted(): void {
    for (let i = this.ready.length - 1; i >= 0; i--) {
      const e = this.ready[i]!;
      if (!this.wanted.has(keyOf(e.image, e.imageId))) void this.destroy(this.ready.splice(i, 1)[0]!);
    }
  }

  /** The wanted pool furthest below its size, or null when every one is full. */
  private nextToFill(): { image: string; imageId: string } | null {
    let best: { image: string; imageId: string } | null = null;
    let bestCount = this.opts.size;
    for (const w of this.wanted.values()) {
      const n = this.ready.filter((e) => e.image === w.image && e.imageId === w.imageId).length;
      if (n < bestCount) [best, bestCount] = [w, n];
    }
    return best;
  }

  /**
   * Starts the fill loop, or has it run again when it is ending: a loop that just found every
   * pool full may still be settling when a take empties one (`want` then `take` in one tick).
   */
  private refill(): void {
    if (!this.enabled) return;
    if (this.filling) {
      this.refillAgain = true;
      return;
    }
    this.filling = this.fillLoop().finally(() => {
      this.filling = null;
      if (this.refillAgain) {
        this.refillAgain = false;
        this.refill();
      }
    });
  }

  private async fillLoop(): Promise<void> {
    for (let next = this.nextToFill(); next && this.enabled; next = this.nextToFill()) {
      while (this.busy() && this.enabled) await sleep(BUSY_POLL_MS);
      if (!this.enabled) return;
      try {
        const entry = await this.make(next.image, next.imageId);
        if (this.enabled && this.wanted.has(keyOf(entry.image, entry.imageId))) {
          this.ready.push(entry);
          this.deps.log('info', 'warm pool sandbox ready', { shortId: entry.shortId, ip: entry.ip, image: entry.image, ready: this.ready.length });
        } else {
          await this.destroy(entry);
        }
      } catch (err) {
        this.deps.log('warn', 'warm pool refill failed; retrying later', { image: next.image, err: String(err) });
        await sleep(RETRY_MS);
      }
    }
  }

  /** Boots one sandbox of the pinned image; on failure nothing of it stays. */
  private async make(image: string, imageId: string): Promise<PoolEntry> {
    const facts = await this.deps.images.materialize(image, imageId);
    const ip = await this.opts.reserveAddress(this.held);
    this.held.add(ip);
    const shortId = randomBytes(4).toString('hex');
    const entry: PoolEntry = { shortId, ip, dir: join(this.root(), shortId), image, imageId };
    try {
      const spec = this.specOf(entry, facts.layers);
      await writePoolControlFiles(this.deps, spec);
      await this.deps.driver.create(spec);
      await this.deps.firewall.register({ ip, hostIf: this.deps.hostIfName(shortId) });
      await this.deps.driver.start(spec);
      await this.deps.probe(ip, AGENT_PORT, AGENT_READY_TIMEOUT_MS);
      return entry;
    } catch (err) {
      await this.destroy(entry);
      throw err;
    }
  }
}
