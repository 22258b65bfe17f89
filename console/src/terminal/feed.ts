/**
 * One terminal's output path from the socket to its screen, with the resync after a reconnect.
 *
 * Live: every chunk is written and remembered in the tail (what the screen has received).
 * Resync (`beginResync()`, called when a new `/ws` opens): the server first replays the
 * terminal's scrollback ring, then live output follows on the same socket with no marker
 * between them. Chunks are held until the burst settles — no chunk for `quietMs`, or as many
 * bytes as the ring holds (then the whole replay is in hand) — and `resumeFrom` (replay.ts)
 * decides what is new. When nothing lines up, `onMissed()` runs first (the caller marks the
 * gap on screen) and the whole replay is written. `whenLive(fn)` defers screen notes (such as
 * "process exited") until the replay they follow has been written.
 */
import { resumeFrom, TailBuffer } from './replay.js';
import { concatBytes } from '../util/bytes.js';

export interface FeedSink {
  write(bytes: Uint8Array): void;
  onMissed(): void;
}

/** How long the replay burst may pause before it is considered complete. */
export const QUIET_MS = 250;

export class TerminalFeed {
  private readonly tail: TailBuffer;
  private held: Uint8Array[] | null = null;
  private heldBytes = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private afterSettle: (() => void)[] = [];

  /** `capacity`: the terminal's scrollback ring size in bytes (the most a replay can hold). */
  constructor(private readonly sink: FeedSink, readonly capacity: number, private readonly quietMs = QUIET_MS) {
    this.tail = new TailBuffer(capacity);
  }

  get resyncing(): boolean {
    return this.held !== null;
  }

  /** Bytes the screen received, newest last (for tests and diagnostics). */
  received(): Uint8Array {
    return this.tail.bytes();
  }

  push(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    if (!this.held) {
      this.deliver(bytes);
      return;
    }
    this.held.push(bytes);
    this.heldBytes += bytes.length;
    if (this.heldBytes >= this.capacity) this.settle();
    else this.arm();
  }

  /** A new socket opened: what follows starts with the scrollback replay. */
  beginResync(): void {
    this.held = [];
    this.heldBytes = 0;
    this.arm();
  }

  /** Decides now what of the held replay is new (also called by the quiet timer). */
  settle(): void {
    if (!this.held) return;
    this.clearTimer();
    const replay = concatBytes(this.held);
    this.held = null;
    this.heldBytes = 0;
    const resume = resumeFrom(this.tail.bytes(), replay);
    if (resume.missed) this.sink.onMissed();
    if (resume.bytes.length > 0) this.deliver(resume.bytes);
    const queued = this.afterSettle;
    this.afterSettle = [];
    for (const fn of queued) fn();
  }

  /** Runs `fn` once the screen is live: now, or after the resync settles (e.g. an exit note). */
  whenLive(fn: () => void): void {
    if (this.held) this.afterSettle.push(fn);
    else fn();
  }

  /** The socket went away mid-resync: what was held is dropped (the next replay has it again). */
  abandonResync(): void {
    this.clearTimer();
    this.held = null;
    this.heldBytes = 0;
  }

  dispose(): void {
    this.abandonResync();
    this.afterSettle = [];
  }

  private deliver(bytes: Uint8Array): void {
    this.tail.push(bytes);
    this.sink.write(bytes);
  }

  private arm(): void {
    this.clearTimer();
    this.timer = setTimeout(() => this.settle(), this.quietMs);
  }

  private clearTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}
