/**
 * Log lines as the console keeps them: SSE payloads of the boot, cmd and workload streams
 * (control-plane.md §11, §14) read into entries, split into lines and kept in a bounded
 * buffer (the last `capacity` lines; older ones are counted, not kept).
 *
 * Contracts:
 * - `entryOf(payload)` accepts `{message|line|data, timestamp?, stream?, level?}`; a
 *   workload entry's `data` keeps its newlines, so a chunk that ends mid-line is continued
 *   by the next chunk of the same stream instead of starting a new line.
 * - After a reconnect the server replays a tail; `resume()` arms a filter that drops the
 *   replayed entries already kept (older timestamps, or the same timestamp and text),
 *   until the first entry newer than the last one kept.
 */
import { Ring } from './ring.js';

export interface LogEntry {
  timestamp: string;
  text: string;
  stream: 'stdout' | 'stderr' | null;
  level: string | null;
  /** The text does not end with a newline: the next chunk continues its last line. */
  open: boolean;
}

export interface LogLine {
  id: number;
  timestamp: string;
  text: string;
  stream: 'stdout' | 'stderr' | null;
  level: string | null;
}

export const LOG_CAPACITY = 5000;

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** One SSE payload as an entry; null for anything that carries no text. */
export function entryOf(payload: unknown): LogEntry | null {
  if (!payload || typeof payload !== 'object') return null;
  const p = payload as Record<string, unknown>;
  const data = str(p.data);
  let text: string;
  let open = false;
  if (data !== null) {
    open = !data.endsWith('\n');
    text = open ? data : data.slice(0, -1);
  } else {
    const m = str(p.message) ?? str(p.line);
    if (m === null) return null;
    text = m;
  }
  const stream = p.stream === 'stderr' ? 'stderr' : p.stream === 'stdout' ? 'stdout' : null;
  return { timestamp: str(p.timestamp) ?? '', text: text.replace(/\r$/gm, ''), stream, level: str(p.level), open };
}

interface ReplayFilter {
  timestamp: string;
  texts: string[];
}

export class LogBuffer {
  private readonly lines: Ring<LogLine>;
  private nextId = 1;
  private lastOpen: { stream: LogEntry['stream'] } | null = null;
  private lastTs = '';
  private textsAtLastTs: string[] = [];
  private filter: ReplayFilter | null = null;
  /** Lines pushed out of the buffer (the view says how many). */
  dropped = 0;

  constructor(readonly capacity = LOG_CAPACITY) {
    this.lines = new Ring<LogLine>(capacity);
  }

  get length(): number {
    return this.lines.length;
  }

  toArray(): LogLine[] {
    return this.lines.toArray();
  }

  /** Adds one entry; returns false when the replay filter dropped it. */
  add(e: LogEntry): boolean {
    if (this.replayed(e)) return false;
    if (e.timestamp !== this.lastTs) {
      this.lastTs = e.timestamp;
      this.textsAtLastTs = [];
    }
    this.textsAtLastTs.push(e.text);
    const parts = e.text.split('\n');
    const last = this.lines.last();
    if (this.lastOpen && last && this.lastOpen.stream === e.stream) {
      last.text += parts.shift() ?? '';
    }
    for (const text of parts) this.push({ id: this.nextId++, timestamp: e.timestamp, text, stream: e.stream, level: e.level });
    this.lastOpen = e.open ? { stream: e.stream } : null;
    return true;
  }

  private push(line: LogLine): void {
    if (this.lines.length === this.capacity) this.dropped++;
    this.lines.push(line);
  }

  /** The stream reconnects: entries it replays that are already kept are skipped. */
  resume(): void {
    this.filter = this.lastTs ? { timestamp: this.lastTs, texts: [...this.textsAtLastTs] } : null;
    this.lastOpen = null;
  }

  private replayed(e: LogEntry): boolean {
    const f = this.filter;
    if (!f || !e.timestamp) return false;
    if (e.timestamp < f.timestamp) return true;
    if (e.timestamp === f.timestamp) {
      const i = f.texts.indexOf(e.text);
      if (i >= 0) {
        f.texts.splice(i, 1);
        return true;
      }
      return false;
    }
    this.filter = null;
    return false;
  }

  clear(): void {
    this.lines.clear();
    this.dropped = 0;
    this.lastOpen = null;
    // lastTs is kept: a later reconnect still skips what was cleared from the view.
  }
}
