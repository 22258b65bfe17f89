/**
 * Cuts a byte stream (a child's stdout or stderr) into log chunks: each chunk is a run of
 * complete lines from one read, newlines included (`"tick\ntick\n"`), at most `maxChars`
 * long (cut after a newline when the run is longer; a single longer line is cut at the
 * limit). A partial line is held until its newline arrives, it reaches `maxChars`, or
 * `flushMs` pass since its first byte (a prompt without a newline still shows up: that
 * chunk has no trailing newline). UTF-8 sequences split across reads are reassembled.
 * Bytes are kept as they are (a `\r\n` stays), so the chunks concatenate to the output.
 */
import { StringDecoder } from 'node:string_decoder';

export const MAX_CHUNK_CHARS = 64 * 1024;
export const PARTIAL_FLUSH_MS = 200;

export interface ChunkSplitterOptions {
  maxChunkChars?: number;
  flushMs?: number;
}

export class ChunkSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private partial = '';
  private timer: NodeJS.Timeout | null = null;
  private readonly maxChars: number;
  private readonly flushMs: number;

  /** `onChunks` receives every batch of chunks, in order, never an empty batch or chunk. */
  constructor(private readonly onChunks: (chunks: string[]) => void, opts: ChunkSplitterOptions = {}) {
    this.maxChars = opts.maxChunkChars ?? MAX_CHUNK_CHARS;
    this.flushMs = opts.flushMs ?? PARTIAL_FLUSH_MS;
  }

  push(chunk: Buffer): void {
    const text = this.partial + this.decoder.write(chunk);
    const out: string[] = [];
    const lastNl = text.lastIndexOf('\n');
    if (lastNl >= 0) this.cut(text.slice(0, lastNl + 1), out);
    let rest = lastNl >= 0 ? text.slice(lastNl + 1) : text;
    while (rest.length >= this.maxChars) {
      const at = cutPoint(rest, this.maxChars);
      out.push(rest.slice(0, at));
      rest = rest.slice(at);
    }
    this.partial = rest;
    this.deliver(out);
    this.armTimer();
  }

  /** The stream ended: whatever is held becomes the last chunk. */
  end(): void {
    const rest = this.partial + this.decoder.end();
    this.partial = '';
    this.clearTimer();
    const out: string[] = [];
    this.cut(rest, out);
    this.deliver(out);
  }

  /** Emits the held partial line now (the flush timer, or a reader that wants it). */
  flush(): void {
    this.clearTimer();
    if (this.partial.length === 0) return;
    const held = this.partial;
    this.partial = '';
    this.deliver([held]);
  }

  /** Pushes `text` to `out` in pieces of at most maxChars, cut after a newline when one is in reach. */
  private cut(text: string, out: string[]): void {
    let start = 0;
    while (text.length - start > this.maxChars) {
      const nl = text.lastIndexOf('\n', start + this.maxChars - 1);
      const end = nl >= start ? nl + 1 : start + cutPoint(text.slice(start, start + this.maxChars), this.maxChars);
      out.push(text.slice(start, end));
      start = end;
    }
    if (start < text.length) out.push(start === 0 ? text : text.slice(start));
  }

  private deliver(chunks: string[]): void {
    if (chunks.length > 0) this.onChunks(chunks);
  }

  private armTimer(): void {
    if (this.partial.length === 0) {
      this.clearTimer();
      return;
    }
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flush();
    }, this.flushMs);
    this.timer.unref();
  }

  private clearTimer(): void {
    if (!this.timer) return;
    clearTimeout(this.timer);
    this.timer = null;
  }
}

/** Where to cut `text` at `max` chars without splitting a surrogate pair. */
function cutPoint(text: string, max: number): number {
  const code = text.charCodeAt(max - 1);
  return code >= 0xd800 && code <= 0xdbff ? max - 1 : max;
}

/**
 * Lines a chunk holds: its newlines, plus one for a trailing partial line. Tail counts
 * these, so a partial line flushed early and its rest count as two.
 */
export function countLines(d: string): number {
  let n = 0;
  for (let i = d.indexOf('\n'); i !== -1; i = d.indexOf('\n', i + 1)) n++;
  return d.length > 0 && !d.endsWith('\n') ? n + 1 : n;
}

/** The last `keep` lines of `d` (all of it when it holds no more). */
export function lastLinesOf(d: string, keep: number): string {
  if (keep <= 0) return '';
  let idx = d.endsWith('\n') ? d.length - 1 : d.length;
  for (let k = 0; k < keep; k++) {
    if (idx <= 0) return d;
    idx = d.lastIndexOf('\n', idx - 1);
    if (idx === -1) return d;
  }
  return d.slice(idx + 1);
}
