/**
 * Server-sent event channels of the internal API (control-plane dialect: unnamed events,
 * one JSON object per `data:` line), with a heartbeat comment every 15 s. A client that
 * goes away frees everything it held (`onDispose`). A producer that watches `backlog` and
 * `onDrain` (log followers, src/agent/logs/follow.ts) never lets unsent data pile up; one
 * that does not (the event feed, which a client resumes with `since`) is cut off past
 * `maxBacklog`, so agent memory never grows with a slow reader.
 */
import type { ServerResponse } from 'node:http';
import { sseData, SSE_HEADERS, SSE_HEARTBEAT } from '../../contract/sse.js';
import type { EntryLog } from './entry-log.js';
import { followLog } from './follow.js';

export const HEARTBEAT_MS = 15_000;
/** Backlog past which a channel that does not pace itself is cut. */
export const SSE_MAX_BACKLOG = 32 * 1024 * 1024;

export class SseChannel {
  private readonly heartbeat: NodeJS.Timeout;
  private readonly cleanups: Array<() => void> = [];
  private disposed = false;

  constructor(private readonly res: ServerResponse, private readonly maxBacklog = SSE_MAX_BACKLOG) {
    res.writeHead(200, SSE_HEADERS);
    res.flushHeaders();
    res.socket?.setNoDelay(true);
    this.heartbeat = setInterval(() => this.res.write(SSE_HEARTBEAT), HEARTBEAT_MS);
    this.heartbeat.unref();
    res.once('close', () => this.dispose());
  }

  get closed(): boolean {
    return this.disposed;
  }

  /** Bytes written but not yet taken by the client's socket. */
  get backlog(): number {
    return this.res.writableLength;
  }

  /** Calls `fn` each time the client has taken what was buffered (after a write that filled the buffer). */
  onDrain(fn: () => void): void {
    this.res.on('drain', fn);
    this.onDispose(() => this.res.off('drain', fn));
  }

  send(payload: unknown): void {
    if (this.disposed) return;
    if (this.res.writableLength > this.maxBacklog) {
      this.dispose();
      this.res.destroy();
      return;
    }
    this.res.write(sseData(payload));
  }

  /** Runs `fn` when the channel ends, whichever side ends it. */
  onDispose(fn: () => void): void {
    if (this.disposed) fn();
    else this.cleanups.push(fn);
  }

  /** Ends the stream normally. */
  end(): void {
    this.dispose();
    this.res.end();
  }

  private dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    clearInterval(this.heartbeat);
    for (const fn of this.cleanups.splice(0)) {
      try {
        fn();
      } catch {
        /* cleanup of one listener must not stop the others */
      }
    }
  }
}

/**
 * Streams `log`: entries covering its last `tail` lines, then every new one, each as
 * `{data, stream, timestamp, ...extra}`, paced by the client (src/agent/logs/follow.ts).
 * Ends when the log is removed.
 */
export function streamLog(res: ServerResponse, log: EntryLog, tail: number, extra: Record<string, unknown> = {}): void {
  followLog(new SseChannel(res), log, tail, extra);
}
