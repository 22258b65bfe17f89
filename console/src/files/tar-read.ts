/**
 * A small tar reader for the runtime's download (runtime.md §8.1: a gzip-compressed tar; the
 * browser's DecompressionStream does the gzip part). `TarParser` is a push parser (chunks in,
 * events out) for ustar, pax (`x`; global `g` ignored) and GNU long names (`L`, `K`), octal or
 * base-256 sizes. `firstFile(stream)` returns the archive's first regular file as a Blob (the
 * download of one file is a one-file archive). The writer is tar-write.ts.
 */
import { BLOCK, padding } from './tar-write.js';
import { concatBytes } from '../util/bytes.js';

const decoder = new TextDecoder();

export interface TarEntry {
  name: string;
  size: number;
  /** '0' file, '5' directory, '2' symlink, '1' hard link, … */
  type: string;
  linkName: string;
  mode: number;
  mtime: number;
}

export type TarEvent =
  | { kind: 'entry'; entry: TarEntry }
  | { kind: 'data'; bytes: Uint8Array }
  | { kind: 'end' };

function readString(b: Uint8Array, offset: number, size: number): string {
  const field = b.subarray(offset, offset + size);
  const nul = field.indexOf(0);
  return decoder.decode(nul >= 0 ? field.subarray(0, nul) : field);
}

function readNumber(b: Uint8Array, offset: number, size: number): number {
  if (b[offset]! & 0x80) {
    // base-256 (GNU): big-endian, high bit of the first byte is the flag
    let n = b[offset]! & 0x7f;
    for (let i = 1; i < size; i++) n = n * 256 + b[offset + i]!;
    return n;
  }
  const text = readString(b, offset, size).trim();
  return text ? parseInt(text, 8) : 0;
}

/** Parses pax records into key → value. */
export function parsePax(bytes: Uint8Array): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  while (i < bytes.length) {
    const space = bytes.indexOf(0x20, i);
    if (space < 0) break;
    const len = parseInt(decoder.decode(bytes.subarray(i, space)), 10);
    if (!Number.isFinite(len) || len <= 0) break;
    const record = decoder.decode(bytes.subarray(space + 1, i + len - 1));
    const eq = record.indexOf('=');
    if (eq > 0) out[record.slice(0, eq)] = record.slice(eq + 1);
    i += len;
  }
  return out;
}

type State = 'header' | 'data' | 'meta' | 'pad' | 'done';
const META_TYPES = new Set(['x', 'g', 'L', 'K']);

export class TarParser {
  private buf = new Uint8Array(0);
  private state: State = 'header';
  private remaining = 0;
  private pad = 0;
  private metaType = '';
  private meta: Uint8Array[] = [];
  private next: { path?: string; size?: number; linkpath?: string } = {};

  get done(): boolean {
    return this.state === 'done';
  }

  push(chunk: Uint8Array): TarEvent[] {
    const events: TarEvent[] = [];
    let b = this.buf.length ? concatBytes([this.buf, chunk]) : chunk;
    let off = 0;
    while (off < b.length && this.state !== 'done') {
      if (this.state === 'header') {
        if (b.length - off < BLOCK) break;
        this.header(b.subarray(off, off + BLOCK), events);
        off += BLOCK;
      } else if (this.state === 'data' || this.state === 'meta') {
        const n = Math.min(this.remaining, b.length - off);
        const part = b.subarray(off, off + n);
        if (this.state === 'data') events.push({ kind: 'data', bytes: part });
        else this.meta.push(part.slice());
        off += n;
        this.remaining -= n;
        if (this.remaining === 0) this.endBody();
      } else {
        const n = Math.min(this.pad, b.length - off);
        off += n;
        this.pad -= n;
        if (this.pad === 0) this.state = 'header';
      }
    }
    b = b.subarray(off);
    this.buf = this.state === 'done' ? new Uint8Array(0) : b.slice();
    return events;
  }

  private header(h: Uint8Array, events: TarEvent[]): void {
    if (h.every((x) => x === 0)) {
      this.state = 'done';
      events.push({ kind: 'end' });
      return;
    }
    const type = String.fromCharCode(h[156]!) || '0';
    const size = this.next.size ?? readNumber(h, 124, 12);
    this.pad = padding(size);
    this.remaining = size;
    if (META_TYPES.has(type)) {
      this.metaType = type;
      this.meta = [];
      this.state = size > 0 ? 'meta' : 'pad';
      if (size === 0) this.endBody();
      return;
    }
    const prefix = readString(h, 257, 6) === 'ustar' ? readString(h, 345, 155) : '';
    const base = readString(h, 0, 100);
    const entry: TarEntry = {
      name: this.next.path ?? (prefix ? `${prefix}/${base}` : base),
      size,
      type: type === '\0' ? '0' : type,
      linkName: this.next.linkpath ?? readString(h, 157, 100),
      mode: readNumber(h, 100, 8),
      mtime: readNumber(h, 136, 12),
    };
    this.next = {};
    events.push({ kind: 'entry', entry });
    this.state = size > 0 ? 'data' : 'pad';
    if (size === 0) this.endBody();
  }

  private endBody(): void {
    if (this.metaType) {
      const body = concatBytes(this.meta);
      if (this.metaType === 'x') {
        const pax = parsePax(body);
        if (pax.path !== undefined) this.next.path = pax.path;
        if (pax.linkpath !== undefined) this.next.linkpath = pax.linkpath;
        if (pax.size !== undefined) this.next.size = Number(pax.size);
      } else if (this.metaType === 'L') {
        this.next.path = readString(body, 0, body.length);
      } else if (this.metaType === 'K') {
        this.next.linkpath = readString(body, 0, body.length);
      }
      this.metaType = '';
      this.meta = [];
    }
    this.state = this.pad > 0 ? 'pad' : 'header';
  }
}


/** The first regular file of a tar stream, as a Blob; null when the archive has none. */
export async function firstFile(stream: ReadableStream<Uint8Array>): Promise<{ entry: TarEntry; blob: Blob } | null> {
  const reader = stream.getReader();
  const parser = new TarParser();
  let current: TarEntry | null = null;
  let got = 0;
  const parts: Uint8Array[] = [];
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      for (const ev of parser.push(value)) {
        if (ev.kind === 'entry') {
          if (current) return { entry: current, blob: new Blob(parts as BlobPart[]) };
          if (ev.entry.type === '0' || ev.entry.type === '7') current = ev.entry;
        } else if (ev.kind === 'data' && current) {
          parts.push(ev.bytes);
          got += ev.bytes.length;
        } else if (ev.kind === 'end') {
          return current ? { entry: current, blob: new Blob(parts as BlobPart[]) } : null;
        }
      }
    }
    if (!current) return null;
    if (got !== current.size) throw new Error('The archive ended inside a file');
    return { entry: current, blob: new Blob(parts as BlobPart[]) };
  } finally {
    reader.cancel().catch(() => undefined);
  }
}
