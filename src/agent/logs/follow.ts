/**
 * A log follower (one SSE stream of a workload's or the cmd's log) that is never cut and
 * never holds more than about FOLLOW_HIGH_WATER + one read step of unsent data, whatever
 * the producer does:
 *
 * - It tracks `next`, the global position (src/agent/logs/rotating-file.ts) after the last
 *   entry it sent. It starts at the tail's start and reads the file forwards from there.
 * - Live: when it has read up to the log's end it takes entries in-process as they are
 *   written (their start is then its `next`, since writes and reads are synchronous).
 * - Behind: once the client's backlog passes the high-water mark it ignores live entries;
 *   at the socket's next 'drain' it reads from the file at `next` (the current generation
 *   or `.1`), in steps, until the backlog is high again or it is back at the end.
 * - If `next` was rotated away meanwhile (older than `.1`) it sends one notice saying how
 *   many bytes of the file it missed and continues at the oldest data on disk. Data removed
 *   by a truncation (DELETE /_warren/logs) is skipped without a notice.
 */
import type { LogEntry } from './entry.js';
import { entryToWire } from './entry.js';
import type { EntryLog } from './entry-log.js';
import { trimEntry, type TailStart } from './tail.js';

/** Backlog (bytes the client's socket has not taken) above which a follower reads from the file instead. */
export const FOLLOW_HIGH_WATER = 1024 * 1024;
/** Most file bytes one catch-up step reads. */
export const CATCH_UP_STEP = 256 * 1024;

/** What a follower writes to (SseChannel, src/agent/logs/sse.ts). */
export interface FollowChannel {
  readonly closed: boolean;
  readonly backlog: number;
  send(payload: unknown): void;
  onDrain(fn: () => void): void;
  onDispose(fn: () => void): void;
  end(): void;
}

/** Streams `log` to `channel`: entries covering its last `tail` lines, then everything after them. */
export function followLog(channel: FollowChannel, log: EntryLog, tail: number, extra: Record<string, unknown> = {}): void {
  new LogFollower(channel, log, log.tailStart(tail), extra).start();
}

class LogFollower {
  private next: number;
  private live = false;
  /** The first entry of the tail is cut to its last `keep` lines. */
  private trim: TailStart | null;

  constructor(
    private readonly channel: FollowChannel,
    private readonly log: EntryLog,
    start: TailStart,
    private readonly extra: Record<string, unknown>,
  ) {
    this.next = start.pos;
    this.trim = Number.isFinite(start.keep) ? start : null;
  }

  /** Subscribes and sends the tail, in one tick: nothing is written in between. */
  start(): void {
    this.channel.onDispose(this.log.subscribe((e, start, end) => this.onLive(e, start, end)));
    this.channel.onDispose(this.log.onRemoved(() => this.channel.end()));
    this.channel.onDrain(() => this.catchUp());
    this.catchUp();
  }

  private onLive(e: LogEntry, start: number, end: number): void {
    if (!this.live || this.channel.closed) return;
    if (start !== this.next) {
      // Not contiguous (cannot happen with our own writes): resynchronise from the file.
      this.live = false;
      this.catchUp();
      return;
    }
    this.send(e);
    this.next = end;
    if (this.channel.backlog > FOLLOW_HIGH_WATER) this.live = false;
  }

  /** Reads from the file until the client is saturated (wait for 'drain') or the end is reached (live). */
  private catchUp(): void {
    while (!this.live && !this.channel.closed && this.channel.backlog <= FOLLOW_HIGH_WATER) {
      const end = this.log.end;
      if (this.next >= end) {
        this.next = end;
        this.live = true;
        return;
      }
      this.skipRotatedAway();
      const { entries, next } = this.log.readFrom(this.next, CATCH_UP_STEP);
      for (const p of entries) this.send(this.trim?.pos === p.start ? trimEntry(p.entry, this.trim.keep) : p.entry);
      this.trim = null;
      this.next = next > this.next ? next : end; // no progress (file rewritten underneath): skip to the end
    }
  }

  private skipRotatedAway(): void {
    const oldest = this.log.oldest;
    if (this.next >= oldest) return;
    const lost = oldest - Math.max(this.next, this.log.clearedAt);
    if (lost > 0) {
      this.send({
        t: new Date().toISOString(),
        s: 'stderr',
        d: `[warren: ${lost} bytes of log were rotated away before this reader got them]\n`,
      });
    }
    this.next = oldest;
    this.trim = null;
  }

  private send(e: LogEntry): void {
    this.channel.send({ ...entryToWire(e), ...this.extra });
  }
}
