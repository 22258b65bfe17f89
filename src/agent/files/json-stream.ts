/**
 * A streaming parser for the /files/write body (runtime.md §3.4): a flat JSON object
 * whose `content` string may be huge (64 MiB and more). Small fields are collected in
 * memory (≤ 64 KiB each); the `content` string is unescaped on the fly and handed to a
 * sink chunk by chunk, so the body is never held whole — not even once.
 */
import { AppError } from '../../contract/errors.js';

const MAX_SMALL_STRING = 64 * 1024;
const MAX_NESTED = 1024 * 1024;

export type ContentSink = (chunk: Buffer) => Promise<void>;

type State = 'start' | 'keyOrEnd' | 'key' | 'colon' | 'value' | 'string' | 'literal' | 'nested' | 'commaOrEnd' | 'end';

const SIMPLE_ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

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

  constructor(private readonly contentField: string, private readonly sink: ContentSink) {}

  /** Feeds one body chunk; awaits the sink for any content bytes in it. */
  async push(chunk: Buffer): Promise<void> {
    let runStart = -1;
    const out: Buffer[] = [];
    const flushRun = (end: number) => {
      if (runStart >= 0 && end > runStart) this.emit(chunk.subarray(runStart, end), out);
      runStart = -1;
    };
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i] as number;
      if (this.state === 'string') {
        if (this.escape !== null) {
          this.escapeByte(b, out);
          continue;
        }
        if (b === 0x5c) {
          flushRun(i);
          this.escape = '';
        } else if (b === 0x22) {
          flushRun(i);
          this.endString(out);
        } else if (runStart < 0) runStart = i;
        continue;
      }
      this.structural(b);
    }
    flushRun(chunk.length);
    if (out.length > 0) await this.sink(out.length === 1 ? (out[0] as Buffer) : Buffer.concat(out));
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

  private emit(bytes: Buffer, out: Buffer[]): void {
    if (this.pendingHigh) {
      this.pendingHigh = 0;
      this.emit(Buffer.from('\uFFFD'), out);
    }
    if (this.isContent) {
      out.push(bytes); // a view of the request chunk, consumed before the next chunk arrives
      return;
    }
    this.partBytes += bytes.length;
    if (this.partBytes > MAX_SMALL_STRING) throw bad(`field "${this.key}" is too long`);
    this.parts.push(Buffer.from(bytes));
  }

  private escapeByte(b: number, out: Buffer[]): void {
    const c = String.fromCharCode(b);
    const esc = this.escape as string;
    if (esc === '') {
      if (c === 'u') return void (this.escape = 'u');
      const simple = SIMPLE_ESCAPES[c];
      if (simple === undefined) throw bad('invalid escape');
      this.escape = null;
      return this.emit(Buffer.from(simple), out);
    }
    if (!/[0-9a-fA-F]/.test(c)) throw bad('invalid \\u escape');
    this.escape = esc + c;
    if (this.escape.length < 5) return;
    const code = parseInt(this.escape.slice(1), 16);
    this.escape = null;
    if (code >= 0xd800 && code <= 0xdbff) {
      if (this.pendingHigh) {
        this.pendingHigh = 0;
        this.emit(Buffer.from('\uFFFD'), out);
      }
      this.pendingHigh = code;
      return;
    }
    if (code >= 0xdc00 && code <= 0xdfff && this.pendingHigh) {
      const high = this.pendingHigh;
      this.pendingHigh = 0;
      return this.emit(Buffer.from(String.fromCharCode(high, code)), out);
    }
    this.emit(Buffer.from(String.fromCharCode(code)), out);
  }

  private endString(out: Buffer[]): void {
    if (this.pendingHigh) this.emit(Buffer.alloc(0), out);
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

function parseLiteral(text: string): unknown {
  if (text === 'true') return true;
  if (text === 'false') return false;
  if (text === 'null') return null;
  const n = Number(text);
  if (text.length === 0 || !Number.isFinite(n)) throw bad(`invalid literal ${text.slice(0, 20)}`);
  return n;
}
