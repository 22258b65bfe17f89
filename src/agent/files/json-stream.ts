/**
 * A streaming parser for the /files/write body (runtime.md §3.4): a flat JSON object
 * whose `content` string may be huge (64 MiB and more). Small fields are collected in
 * memory (≤ 64 KiB each); the `content` string is unescaped on the fly and handed to a
 * sink chunk by chunk, so the body is never held whole — not even once.
 */
import { AppError } from '../../contract/errors.js';

const MAX_SMALL_STRING = 64 * 1024;
const MAX_NESTED = 1024 * 1024;

/** Receives unescaped content; the buffer is reused once the returned promise resolves. */
export type ContentSink = (chunk: Buffer) => Promise<void>;

type State = 'start' | 'keyOrEnd' | 'key' | 'colon' | 'value' | 'string' | 'literal' | 'nested' | 'commaOrEnd' | 'end';

/** The byte each one-character escape stands for (all ASCII). */
const SIMPLE_ESCAPES: Record<string, number> = { '"': 0x22, '\\': 0x5c, '/': 0x2f, b: 0x08, f: 0x0c, n: 0x0a, r: 0x0d, t: 0x09 };
/** Byte after a backslash → the byte it stands for, or -1 (not a one-character escape). */
const SIMPLE_ESCAPE_BYTES = new Int16Array(256).fill(-1);
for (const [c, byte] of Object.entries(SIMPLE_ESCAPES)) SIMPLE_ESCAPE_BYTES[c.charCodeAt(0)] = byte;
/** Runs shorter than this are copied byte by byte: cheaper than a native call for each. */
const SHORT_RUN = 64;

function bad(msg: string): AppError {
  return new AppError('bad_request', `Request body is not valid JSON: ${msg}`);
}

export class StreamingWriteBody {
  readonly fields: Record<string, unknown> = {};
  contentSeen = false;
  private state: State = 'start';
  private key = '';
  private isKey = false;
  private isContent = false;
  private parts: Buffer[] = [];
  private partBytes = 0;
  private escape: string | null = null; // null = not in escape; '' = after backslash; 'uXXXX…'
  private pendingHigh = 0;
  private literal = '';
  private depth = 0;
  private nestedInString = false;
  private nestedEscape = false;
  private nestedBytes = 0;
  private outBuf = Buffer.alloc(0);

  constructor(private readonly contentField: string, private readonly sink: ContentSink) {}

  /**
   * Feeds one body chunk; awaits the sink for any content bytes in it. Content is
   * unescaped by one tight loop into one output buffer per chunk (contentRun); other
   * strings are cut at the quote or backslash found by `indexOf`.
   */
  async push(chunk: Buffer): Promise<void> {
    // Unescaping never grows a run; a U+FFFD for a lone surrogate carried over from the
    // previous chunk may add 3 bytes. The sink is done with the buffer when it resolves
    // (contract above), so one buffer serves every chunk.
    if (this.outBuf.length < chunk.length + 8) this.outBuf = Buffer.allocUnsafe(chunk.length + 8);
    const out: ChunkOutput = { buf: this.outBuf, len: 0 };
    const next = { quote: -1, backslash: -1 };
    let i = 0;
    while (i < chunk.length) {
      if (this.state === 'string' && this.escape === null) {
        i = this.stringRun(chunk, i, next, out);
        continue;
      }
      const b = chunk[i++] as number;
      if (this.state === 'string') this.escapeByte(b, out);
      else this.structural(b);
    }
    if (out.len > 0) await this.sink(out.buf.subarray(0, out.len));
  }

  /** From `i` inside a string: emits the plain run, handles the quote or backslash ending it; returns the next index. */
  private stringRun(chunk: Buffer, i: number, next: { quote: number; backslash: number }, out: ChunkOutput): number {
    let end: number;
    if (this.isContent && !this.pendingHigh) {
      end = this.contentRun(chunk, i, out);
    } else {
      if (next.quote !== chunk.length && next.quote < i) next.quote = indexOrEnd(chunk, 0x22, i);
      if (next.backslash !== chunk.length && next.backslash < i) next.backslash = indexOrEnd(chunk, 0x5c, i);
      end = Math.min(next.quote, next.backslash);
      if (end > i) this.emit(chunk, i, end, out);
    }
    if (end === chunk.length) return end;
    if (chunk[end] === 0x5c) this.escape = '';
    else this.endString(out);
    return end + 1;
  }

  /**
   * The hot loop of a big write: copies content bytes into `out`, unescaping simple escapes
   * in place, up to the closing quote, a `\u` escape or an escape cut by the chunk's end
   * (left to escapeByte). Returns the index where it stopped.
   */
  private contentRun(chunk: Buffer, i: number, out: ChunkOutput): number {
    const buf = out.buf;
    const n = chunk.length;
    let len = out.len;
    while (i < n) {
      const b = chunk[i] as number;
      if (b === 0x22) break;
      if (b === 0x5c) {
        const unescaped = i + 1 < n ? SIMPLE_ESCAPE_BYTES[chunk[i + 1] as number] as number : -1;
        if (unescaped < 0) break;
        buf[len++] = unescaped;
        i += 2;
        continue;
      }
      buf[len++] = b;
      i++;
    }
    out.len = len;
    return i;
  }

  /** Call at end of body: 400 unless a complete object was read. */
  finish(): void {
    if (this.state !== 'end') throw bad('unexpected end of body');
  }

  private structural(b: number): void {
    const c = String.fromCharCode(b);
    if (this.state === 'nested') return this.nestedByte(b);
    if (this.state === 'literal') {
      if (/[\w.+-]/.test(c)) {
        this.literal += c;
        if (this.literal.length > 64) throw bad('literal too long');
        return;
      }
      this.fields[this.key] = parseLiteral(this.literal);
      this.state = 'commaOrEnd';
    }
    if (c === ' ' || c === '\n' || c === '\r' || c === '\t') return;
    switch (this.state) {
      case 'start':
        if (c !== '{') throw bad('body must be a JSON object');
        this.state = 'keyOrEnd';
        return;
      case 'keyOrEnd':
        if (c === '}') return void (this.state = 'end');
        if (c !== '"') throw bad('expected a key');
        return this.beginString(true);
      case 'colon':
        if (c !== ':') throw bad('expected ":"');
        this.state = 'value';
        return;
      case 'value':
        if (c === '"') return this.beginString(false);
        if (c === '{' || c === '[') {
          this.state = 'nested';
          this.depth = 1;
          this.nestedBytes = 0;
          this.fields[this.key] = undefined;
          return;
        }
        this.literal = c;
        this.state = 'literal';
        return;
      case 'commaOrEnd':
        if (c === ',') return void (this.state = 'keyOrEnd');
        if (c === '}') return void (this.state = 'end');
        throw bad('expected "," or "}"');
      case 'end':
        throw bad('data after the object');
      default:
        throw bad('unexpected input');
    }
  }

  /** Nested objects/arrays are not part of the write body: skipped, bounded. */
  private nestedByte(b: number): void {
    if (++this.nestedBytes > MAX_NESTED) throw bad('nested value too large');
    if (this.nestedInString) {
      if (this.nestedEscape) this.nestedEscape = false;
      else if (b === 0x5c) this.nestedEscape = true;
      else if (b === 0x22) this.nestedInString = false;
      return;
    }
    if (b === 0x22) this.nestedInString = true;
    else if (b === 0x7b || b === 0x5b) this.depth++;
    else if (b === 0x7d || b === 0x5d) {
      if (--this.depth === 0) this.state = 'commaOrEnd';
    }
  }

  private beginString(isKey: boolean): void {
    this.state = 'string';
    this.isKey = isKey;
    this.isContent = !isKey && this.key === this.contentField;
    if (this.isContent) this.contentSeen = true;
    this.parts = [];
    this.partBytes = 0;
  }

  private emit(src: Buffer, start: number, end: number, out: ChunkOutput): void {
    if (this.pendingHigh) {
      this.pendingHigh = 0;
      this.emit(REPLACEMENT, 0, REPLACEMENT.length, out);
    }
    if (this.isContent) {
      if (end - start < SHORT_RUN) {
        const buf = out.buf;
        let at = out.len;
        for (let i = start; i < end; i++) buf[at++] = src[i] as number;
        out.len = at;
      } else {
        out.len += src.copy(out.buf, out.len, start, end);
      }
      return;
    }
    this.partBytes += end - start;
    if (this.partBytes > MAX_SMALL_STRING) throw bad(`field "${this.key}" is too long`);
    this.parts.push(Buffer.from(src.subarray(start, end)));
  }

  /** One ASCII byte (a simple escape), without a Buffer for it in content. */
  private emitByte(byte: number, out: ChunkOutput): void {
    if (this.isContent && !this.pendingHigh) {
      out.buf[out.len++] = byte;
      return;
    }
    this.emitText(String.fromCharCode(byte), out);
  }

  private emitText(text: string, out: ChunkOutput): void {
    const bytes = Buffer.from(text);
    this.emit(bytes, 0, bytes.length, out);
  }

  private escapeByte(b: number, out: ChunkOutput): void {
    const c = String.fromCharCode(b);
    const esc = this.escape as string;
    if (esc === '') {
      if (c === 'u') return void (this.escape = 'u');
      const simple = SIMPLE_ESCAPES[c];
      if (simple === undefined) throw bad('invalid escape');
      this.escape = null;
      return this.emitByte(simple, out);
    }
    if (!/[0-9a-fA-F]/.test(c)) throw bad('invalid \\u escape');
    this.escape = esc + c;
    if (this.escape.length < 5) return;
    const code = parseInt(this.escape.slice(1), 16);
    this.escape = null;
    if (code >= 0xd800 && code <= 0xdbff) {
      if (this.pendingHigh) {
        this.pendingHigh = 0;
        this.emit(REPLACEMENT, 0, REPLACEMENT.length, out);
      }
      this.pendingHigh = code;
      return;
    }
    if (code >= 0xdc00 && code <= 0xdfff && this.pendingHigh) {
      const high = this.pendingHigh;
      this.pendingHigh = 0;
      return this.emitText(String.fromCharCode(high, code), out);
    }
    this.emitText(String.fromCharCode(code), out);
  }

  private endString(out: ChunkOutput): void {
    if (this.pendingHigh) this.emit(REPLACEMENT, 0, 0, out);
    const text = this.isContent ? '' : Buffer.concat(this.parts).toString('utf8');
    this.parts = [];
    if (this.isKey) {
      this.key = text;
      this.state = 'colon';
    } else {
      if (!this.isContent) this.fields[this.key] = text;
      this.state = 'commaOrEnd';
    }
  }
}

/** Unescaped content bytes of one pushed chunk. */
interface ChunkOutput {
  buf: Buffer;
  len: number;
}

const REPLACEMENT = Buffer.from('\uFFFD');

function indexOrEnd(chunk: Buffer, byte: number, from: number): number {
  const at = chunk.indexOf(byte, from);
  return at === -1 ? chunk.length : at;
}

function parseLiteral(text: string): unknown {
  if (text === 'true') return true;
  if (text === 'false') return false;
  if (text === 'null') return null;
  const n = Number(text);
  if (text.length === 0 || !Number.isFinite(n)) throw bad(`invalid literal ${text.slice(0, 20)}`);
  return n;
}
