/**
 * One process log (the workspace `cmd`, or one workload): output is cut into chunks of
 * whole lines (src/agent/logs/lines.ts), each stored as a JSON line
 * `{"t":ISO,"s":"stdout"|"stderr","d":text}` in a rotating file and handed to live
 * followers with its global position (src/agent/logs/rotating-file.ts). An optional
 * plain-text mirror (a workload's `log_path`) receives the raw bytes, rotated the same way.
 *
 * Followers are fed in-process after the synchronous file write, so "find the tail, then
 * subscribe" in one tick sees every entry exactly once, across rotations too; a follower
 * that falls behind reads the file from its position (src/agent/logs/follow.ts).
 */
import type { ChildProcess } from 'node:child_process';
import { type LogEntry, type LogStreamName } from './entry.js';
import { ChunkSplitter } from './lines.js';
import { RotatingFile, type FileSpan, type RotatingFileOptions } from './rotating-file.js';
import { findTailStart, MAX_TAIL_BYTES, readEntriesFrom, tailEntries, type PlacedEntry, type TailStart } from './tail.js';

export { entryToWire, parseEntry, type LogEntry, type LogStreamName } from './entry.js';

/** Hears each new entry with the global positions of its file line (start === end when the write failed). */
export type EntryListener = (e: LogEntry, start: number, end: number) => void;

/** What a supervised process writes its output into. */
export interface OutputSink {
  write(stream: LogStreamName, chunk: Buffer): void;
  /** The process ended: hold nothing back (its last partial lines become entries). */
  endOfOutput(): void;
}

export interface EntryLogOptions extends RotatingFileOptions {
  plainPath?: string;
}

export class EntryLog implements OutputSink {
  private readonly file: RotatingFile;
  private plain: RotatingFile | null = null;
  private readonly splitters: Record<LogStreamName, ChunkSplitter>;
  private readonly listeners = new Set<EntryListener>();
  private readonly closeListeners = new Set<() => void>();
  private closed = false;

  constructor(readonly path: string, capBytes: number, private readonly opts: EntryLogOptions = {}) {
    this.file = new RotatingFile(path, capBytes, opts);
    this.splitters = {
      stdout: new ChunkSplitter((chunks) => this.append('stdout', chunks)),
      stderr: new ChunkSplitter((chunks) => this.append('stderr', chunks)),
    };
    this.setPlainPath(opts.plainPath);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Live followers (each SSE stream holds one until its client goes away). */
  get followers(): number {
    return this.listeners.size;
  }

  write(stream: LogStreamName, chunk: Buffer): void {
    if (this.closed || chunk.length === 0) return;
    this.plain?.write(chunk);
    this.splitters[stream].push(chunk);
  }

  endOfOutput(): void {
    this.splitters.stdout.end();
    this.splitters.stderr.end();
  }

  setCap(capBytes: number): void {
    this.file.setCap(capBytes);
    this.plain?.setCap(capBytes);
  }

  /** Starts, moves or stops the plain-text mirror. */
  setPlainPath(path: string | undefined): void {
    if (this.plain?.path === path) return;
    this.plain?.close();
    this.plain = path ? new RotatingFile(path, this.file.capBytes, { onError: this.opts.onError }) : null;
  }

  /**
   * Entries covering the newest `n` text lines in the files (the oldest one cut so exactly
   * `n` lines are returned). A partial line still held (< 200 ms old) is not among them; a
   * follower that subscribes right after gets it when it is flushed.
   */
  tail(n: number, maxBytes = MAX_TAIL_BYTES): LogEntry[] {
    return tailEntries(this.file.spans(), n, maxBytes);
  }

  /** Where the newest `n` text lines start (a follower's first position). */
  tailStart(n: number, maxBytes = MAX_TAIL_BYTES): TailStart {
    return findTailStart(this.file.spans(), n, maxBytes);
  }

  /** Global position after the newest entry written. */
  get end(): number {
    return this.file.end;
  }

  /** Oldest global position still on disk (the end when nothing is). */
  get oldest(): number {
    const spans = this.file.spans();
    return spans.find((s) => s.size > 0)?.base ?? this.file.end;
  }

  /** Global position of the last truncation: what lay before it was removed on purpose. */
  get clearedAt(): number {
    return this.file.clearedAt;
  }

  /** Entries stored from global position `from`, reading at most `maxBytes` (see readEntriesFrom). */
  readFrom(from: number, maxBytes: number): { entries: PlacedEntry[]; next: number } {
    return readEntriesFrom(this.file.spans(), from, maxBytes);
  }

  /** The generations on disk (tests and diagnostics). */
  spans(): FileSpan[] {
    return this.file.spans();
  }

  /** Calls `fn` for every new entry until the returned function is called. */
  subscribe(fn: EntryListener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Calls `fn` once when the log is removed (its workload deleted). */
  onRemoved(fn: () => void): () => void {
    if (this.closed) {
      fn();
      return () => undefined;
    }
    this.closeListeners.add(fn);
    return () => this.closeListeners.delete(fn);
  }

  /** Empties the log files; writing continues into fresh ones. */
  truncate(): void {
    this.file.truncate();
  }

  /** Deletes the log files (not the plain mirror, which is the workload owner's file) and ends followers. */
  remove(): void {
    this.closed = true;
    this.file.remove();
    this.plain?.close();
    this.listeners.clear();
    for (const fn of [...this.closeListeners]) safeCall(fn);
    this.closeListeners.clear();
  }

  /** Flushes held lines and closes the files (agent shutdown). */
  close(): void {
    this.endOfOutput();
    this.file.close();
    this.plain?.close();
  }

  /** One file write per chunk (a chunk is at most 64 KiB of text), then the followers. */
  private append(stream: LogStreamName, chunks: string[]): void {
    if (this.closed) return; // removed: a late flush must not recreate the file
    const t = new Date().toISOString();
    for (const d of chunks) {
      const e: LogEntry = { t, s: stream, d };
      const start = this.file.end;
      this.file.write(`${JSON.stringify(e)}\n`);
      const end = this.file.end;
      for (const fn of this.listeners) safeCall(() => fn(e, start, end));
    }
  }
}

/** Output bytes one stream may hand the agent per turn of the event loop before it is paused. */
export const OUTPUT_BUDGET_PER_TURN = 1024 * 1024;

/**
 * Feeds a child's stdout and stderr to `write`, at most OUTPUT_BUDGET_PER_TURN bytes per
 * stream per turn of the event loop: turning output into entries costs CPU, and without
 * a bound a flood (`yes`) hands the agent chunk after chunk and every request waits.
 * Paused, the pipe fills and the writer blocks, so a noisy process is slowed to what the
 * log takes. (A pause after every chunk was too strict: writers such as `head` write 8 KiB
 * at a time, and one 8 KiB read per turn capped a log at ≈ 100 MiB/s with the agent idle.)
 */
export function readOutput(child: ChildProcess, write: (stream: LogStreamName, chunk: Buffer) => void): void {
  for (const name of ['stdout', 'stderr'] as const) {
    const s = child[name];
    if (!s) continue;
    let taken = 0;
    let turnEnds = false;
    s.on('data', (chunk: Buffer) => {
      write(name, chunk);
      taken += chunk.length;
      if (!turnEnds) {
        turnEnds = true;
        setImmediate(() => {
          taken = 0;
          turnEnds = false;
          if (s.isPaused()) s.resume();
        });
      }
      if (taken >= OUTPUT_BUDGET_PER_TURN) s.pause();
    });
  }
}

function safeCall(fn: () => void): void {
  try {
    fn();
  } catch {
    /* a follower's failure is its own (its stream is cut elsewhere) */
  }
}
