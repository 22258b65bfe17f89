/**
 * Reading entry files (one JSON entry per file line) by position: backwards from the end
 * to find where the last N text lines start (the cost depends on what is asked, not on
 * the file's size), and forwards from a position in bounded steps (followers catching
 * up). Files are opened with O_NOFOLLOW | O_NONBLOCK and must be regular files (the
 * directory is the workspace's, which may also rewrite the files: what is read is parsed
 * defensively and a file shorter than expected just ends early).
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { parseEntry, type LogEntry } from './entry.js';
import { countLines, lastLinesOf } from './lines.js';
import type { FileSpan } from './rotating-file.js';

const BLOCK = 64 * 1024;
const READ_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/** Most bytes one tail request reads (a 10000-line tail of 64 KiB lines would be 640 MiB). */
export const MAX_TAIL_BYTES = 16 * 1024 * 1024;

/** An entry read from a file, with the global positions of its file line. */
export interface PlacedEntry {
  entry: LogEntry;
  start: number;
  end: number;
}

/** Where a tail of N lines starts: the entry at `pos`, of which only the last `keep` lines count. */
export interface TailStart {
  pos: number;
  keep: number;
}

/** Opens a regular file for reading without following a symlink; null when that is not possible. */
export function openForRead(path: string): number | null {
  let fd: number;
  try {
    fd = openSync(path, READ_FLAGS);
  } catch {
    return null;
  }
  try {
    if (fstatSync(fd).isFile()) return fd;
  } catch {
    /* fall through */
  }
  closeSync(fd);
  return null;
}

/**
 * Finds the start of the last `n` text lines across `spans` (oldest first), reading at
 * most `maxBytes` backwards. Without enough lines it starts at the oldest entry read
 * (`keep` is then Infinity); with n <= 0, or nothing on disk, at the end.
 */
export function findTailStart(spans: FileSpan[], n: number, maxBytes = MAX_TAIL_BYTES): TailStart {
  const last = spans[spans.length - 1];
  let found: TailStart = { pos: last ? last.base + last.size : 0, keep: Infinity };
  if (n <= 0) return found;
  let need = n;
  let budget = maxBytes;
  for (let i = spans.length - 1; i >= 0 && budget > 0; i--) {
    const r = scanSpanBack(spans[i]!, need, budget);
    budget -= r.read;
    if (r.oldest !== null) found = { pos: r.oldest, keep: Infinity };
    if (r.hit) return r.hit;
    need -= r.lines;
    if (r.incomplete) break; // a gap (budget spent, file cut short): older spans would not join up
  }
  return found;
}

interface BackScan {
  hit: TailStart | null;
  oldest: number | null;
  lines: number;
  read: number;
  incomplete: boolean;
}

/** Walks one span's file lines from the end, counting text lines until `need` are covered. */
function scanSpanBack(span: FileSpan, need: number, budget: number): BackScan {
  const r: BackScan = { hit: null, oldest: null, lines: 0, read: 0, incomplete: false };
  const fd = openForRead(span.path);
  if (fd === null) return { ...r, incomplete: true };
  try {
    let pos = Math.min(span.size, fstatSync(fd).size);
    if (pos < span.size) r.incomplete = true;
    let carry = Buffer.alloc(0);
    while (pos > 0) {
      if (r.read >= budget) return { ...r, incomplete: true };
      const len = Math.min(BLOCK, pos, budget - r.read);
      const block = Buffer.alloc(len);
      const got = readSync(fd, block, 0, len, pos - len);
      if (got < len) return { ...r, incomplete: true }; // truncated underneath us
      pos -= len;
      r.read += got;
      const buf = carry.length > 0 ? Buffer.concat([block, carry]) : block;
      let lineEnd = buf.length;
      for (;;) {
        const nl = lineEnd >= 2 ? buf.lastIndexOf(0x0a, lineEnd - 2) : -1;
        if (nl < 0 && pos > 0) break; // this line may start in an earlier block
        const lineStart = nl + 1;
        const text = buf.toString('utf8', lineStart, lineEnd);
        const start = span.base + pos + lineStart;
        const lines = countLines(parseEntry(text.replace(/\n$/, '')).d);
        if (lines > 0) {
          r.oldest = start;
          if (r.lines + lines >= need) return { ...r, hit: { pos: start, keep: need - r.lines } };
          r.lines += lines;
        }
        lineEnd = lineStart;
        if (nl < 0) break;
      }
      carry = buf.subarray(0, lineEnd);
    }
    return r;
  } finally {
    closeSync(fd);
  }
}

/**
 * Entries from global position `from`, reading at most `maxBytes` of one span. `next` is
 * where the following read starts; it always moves forward unless `from` is at the end.
 * A file shorter than its span (rewritten underneath) skips to the span's end.
 */
export function readEntriesFrom(spans: FileSpan[], from: number, maxBytes: number): { entries: PlacedEntry[]; next: number } {
  const span = spans.find((s) => from >= s.base && from < s.base + s.size);
  if (!span) {
    const later = spans.find((s) => s.base > from && s.size > 0);
    return { entries: [], next: later ? later.base : Math.max(from, endOf(spans)) };
  }
  const spanEnd = span.base + span.size;
  const local = from - span.base;
  const want = Math.min(maxBytes, span.size - local);
  const fd = openForRead(span.path);
  if (fd === null) return { entries: [], next: spanEnd };
  let buf: Buffer;
  try {
    buf = Buffer.alloc(want);
    buf = buf.subarray(0, readSync(fd, buf, 0, want, local));
  } finally {
    closeSync(fd);
  }
  if (buf.length === 0) return { entries: [], next: spanEnd };
  const reachedEnd = local + buf.length >= span.size;
  const lastNl = buf.lastIndexOf(0x0a);
  // Whole lines only; a torn last line at the span's end, or one longer than the step, goes as it is.
  const take = reachedEnd || lastNl < 0 ? buf.length : lastNl + 1;
  const entries: PlacedEntry[] = [];
  let start = 0;
  while (start < take) {
    const nl = buf.indexOf(0x0a, start);
    const end = nl < 0 || nl >= take ? take : nl + 1;
    const text = buf.toString('utf8', start, nl >= 0 && nl < take ? nl : take);
    if (text.length > 0) entries.push({ entry: parseEntry(text), start: from + start, end: from + end });
    start = end;
  }
  return { entries, next: from + take };
}

/** Entries covering the last `n` text lines, oldest first (the first one cut to its last lines). */
export function tailEntries(spans: FileSpan[], n: number, maxBytes = MAX_TAIL_BYTES): LogEntry[] {
  const start = findTailStart(spans, n, maxBytes);
  const stop = endOf(spans);
  const out: LogEntry[] = [];
  let pos = start.pos;
  while (pos < stop) {
    const { entries, next } = readEntriesFrom(spans, pos, BLOCK * 4);
    for (const p of entries) out.push(p.start === start.pos ? trimEntry(p.entry, start.keep) : p.entry);
    if (next <= pos) break;
    pos = next;
  }
  return out;
}

/** The entry with only its last `keep` text lines. */
export function trimEntry(e: LogEntry, keep: number): LogEntry {
  if (!Number.isFinite(keep)) return e;
  return { ...e, d: lastLinesOf(e.d, keep) };
}

function endOf(spans: FileSpan[]): number {
  const last = spans[spans.length - 1];
  return last ? last.base + last.size : 0;
}

/** One plain file as a span of its own (a listed log file read by name). */
export function fileSpan(path: string): FileSpan[] {
  const fd = openForRead(path);
  if (fd === null) return [];
  try {
    return [{ path, base: 0, size: fstatSync(fd).size }];
  } finally {
    closeSync(fd);
  }
}
