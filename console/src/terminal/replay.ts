/**
 * Scrollback replay after a reconnect, as pure functions over bytes (no DOM, no timers).
 *
 * The runtime replays every live terminal's scrollback ring (its newest N bytes of output)
 * when a `/ws` connects (runtime.md §9.1). The console keeps the tail of what each xterm
 * already received (`TailBuffer`); `resumeFrom(tail, replay)` finds where the replay lines up
 * with that tail and returns only the bytes the screen has not shown yet.
 *
 * The output stream O is what the terminal ever printed. The screen received a prefix of O
 * ending with `tail`; the replay R is a window of O that starts somewhere before or after that
 * point. Candidate alignments are the offsets e in R such that R[0..e) ends the same way as the
 * tail (the last min(e, |tail|) bytes agree); the bytes R[e..] are new. The largest candidate
 * wins (it writes the least; a smaller one would repeat output already on screen). A candidate
 * must agree on at least `minOverlap` bytes (or on the whole tail when the tail is shorter, or
 * on the whole replay when it is that short): a few matching bytes are a coincidence, not
 * evidence. When nothing lines up, output was
 * lost while disconnected: the caller marks the gap and writes the whole replay.
 */

export interface Resume {
  /** The bytes to write (a view into the replay). */
  bytes: Uint8Array;
  /** No alignment was found: output between the tail and the replay was lost. */
  missed: boolean;
}

/** Fewer agreeing bytes than this do not prove an alignment (unless the tail is all there is). */
export const MIN_OVERLAP = 32;

export function resumeFrom(tail: Uint8Array, replay: Uint8Array, minOverlap = MIN_OVERLAP): Resume {
  if (tail.length === 0) return { bytes: replay, missed: false };
  if (replay.length === 0) return { bytes: replay, missed: false };
  const e = alignment(tail, replay, Math.min(minOverlap, tail.length));
  if (e < 0) return { bytes: replay, missed: true };
  return { bytes: replay.subarray(e), missed: false };
}

/** The largest valid alignment offset in `replay`, or -1. */
export function alignment(tail: Uint8Array, replay: Uint8Array, minAgree: number): number {
  // e ≥ |tail|: the whole tail occurs in the replay, ending at e (last occurrence wins).
  const end = lastOccurrenceEnd(tail, replay);
  if (end >= 0) return end;
  // e < |tail|: the replay starts with the tail's last e bytes (longest such e).
  const e = longestSuffixPrefix(tail, replay);
  // A short replay that agrees entirely with the tail's end has nothing new.
  return e > 0 && (e >= minAgree || e === replay.length) ? e : -1;
}

/** KMP failure function of `p`: fail[i] = length of the longest proper border of p[0..i]. */
function failure(p: Uint8Array): Int32Array {
  const fail = new Int32Array(p.length);
  let k = 0;
  for (let i = 1; i < p.length; i++) {
    while (k > 0 && p[i] !== p[k]) k = fail[k - 1]!;
    if (p[i] === p[k]) k++;
    fail[i] = k;
  }
  return fail;
}

/** End offset (exclusive) of the last occurrence of `pattern` in `text`, or -1. */
export function lastOccurrenceEnd(pattern: Uint8Array, text: Uint8Array): number {
  if (pattern.length === 0 || pattern.length > text.length) return -1;
  const fail = failure(pattern);
  let k = 0;
  let last = -1;
  for (let i = 0; i < text.length; i++) {
    while (k > 0 && text[i] !== pattern[k]) k = fail[k - 1]!;
    if (text[i] === pattern[k]) k++;
    if (k === pattern.length) {
      last = i + 1;
      k = fail[k - 1]!;
    }
  }
  return last;
}

/** Length of the longest suffix of `a` that is also a prefix of `b` (shorter than both allowed). */
export function longestSuffixPrefix(a: Uint8Array, b: Uint8Array): number {
  if (a.length === 0 || b.length === 0) return 0;
  // Only the last |b| bytes of a can take part; run b's automaton over them.
  const from = Math.max(0, a.length - b.length);
  const fail = failure(b);
  let k = 0;
  for (let i = from; i < a.length; i++) {
    while (k > 0 && a[i] !== b[k]) k = fail[k - 1]!;
    if (a[i] === b[k]) k++;
    if (k === b.length && i < a.length - 1) k = fail[k - 1]!;
  }
  return k;
}

/** The newest `capacity` bytes written to it (what the screen received last). */
export class TailBuffer {
  private buf: Uint8Array;
  private len = 0;

  constructor(readonly capacity: number) {
    this.buf = new Uint8Array(Math.max(1, capacity));
  }

  get length(): number {
    return this.len;
  }

  push(bytes: Uint8Array): void {
    const cap = this.buf.length;
    if (bytes.length >= cap) {
      this.buf.set(bytes.subarray(bytes.length - cap));
      this.len = cap;
      return;
    }
    const keep = Math.min(this.len, cap - bytes.length);
    if (keep < this.len) this.buf.copyWithin(0, this.len - keep, this.len);
    this.buf.set(bytes, keep);
    this.len = keep + bytes.length;
  }

  /** A copy of the kept bytes. */
  bytes(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

