import { describe, expect, it } from 'vitest';
import { alignment, lastOccurrenceEnd, longestSuffixPrefix, resumeFrom, TailBuffer } from './replay.js';
import { concatBytes } from '../util/bytes.js';

const te = new TextEncoder();
const td = new TextDecoder();
const b = (s: string) => te.encode(s);
const s = (u: Uint8Array) => td.decode(u);

/** A long, non-repeating output stream, like a shell session. */
function stream(n: number): string {
  let out = '';
  for (let i = 0; out.length < n; i++) out += `$ echo line ${i}\r\nline ${i} ${(i * 7919) % 10007}\r\n`;
  return out.slice(0, n);
}

/** What the server replays: the newest `ring` bytes of everything printed. */
const ringOf = (all: string, ring: number) => all.slice(Math.max(0, all.length - ring));

describe('resumeFrom', () => {
  it('writes nothing when the replay holds nothing new (ring not yet full)', () => {
    const all = stream(2000);
    const r = resumeFrom(b(all), b(all));
    expect(r).toEqual({ bytes: new Uint8Array(0), missed: false });
  });

  it('writes nothing when the replay is the tail exactly (ring full, tail kept as large)', () => {
    const all = stream(10_000);
    const tail = ringOf(all, 4096);
    expect(s(resumeFrom(b(tail), b(ringOf(all, 4096))).bytes)).toBe('');
  });

  it('writes only the output printed while disconnected', () => {
    const seen = stream(3000);
    const all = stream(3400);
    expect(s(resumeFrom(b(seen), b(all)).bytes)).toBe(all.slice(3000));
  });

  it('lines up when the ring dropped the oldest bytes the screen saw (replay starts inside the tail)', () => {
    const all = stream(20_000);
    const seen = all.slice(0, 15_000);
    const tail = seen.slice(-4096);
    const replay = ringOf(all, 8192); // starts at 11 808: inside the tail (10 904…15 000)
    const r = resumeFrom(b(tail), b(replay));
    expect(r.missed).toBe(false);
    expect(s(r.bytes)).toBe(all.slice(15_000));
  });

  it('lines up when the tail is shorter than the replay and sits in its middle', () => {
    const all = stream(20_000);
    const tail = all.slice(9_000, 12_000);
    const r = resumeFrom(b(tail), b(ringOf(all, 16_384)));
    expect(s(r.bytes)).toBe(all.slice(12_000));
  });

  it('reports a gap when more was printed than the ring holds', () => {
    const all = stream(30_000);
    const tail = all.slice(0, 5000);
    const replay = ringOf(all, 8192);
    const r = resumeFrom(b(tail), b(replay));
    expect(r.missed).toBe(true);
    expect(s(r.bytes)).toBe(replay);
  });

  it('does not take a few agreeing bytes as an alignment', () => {
    const tail = b('x'.repeat(100) + 'abc');
    const replay = b('abc' + 'y'.repeat(100));
    expect(resumeFrom(tail, replay).missed).toBe(true);
    expect(resumeFrom(tail, replay, 3).missed).toBe(false);
  });

  it('writes the whole replay without a mark when the screen saw nothing yet', () => {
    expect(resumeFrom(new Uint8Array(0), b('hello'))).toEqual({ bytes: b('hello'), missed: false });
  });

  it('takes a short tail (all the terminal printed) as enough evidence', () => {
    expect(s(resumeFrom(b('$ '), b('$ ls\r\n')).bytes)).toBe('ls\r\n');
  });

  it('prefers the latest alignment for repetitive output (never repeats what is on screen)', () => {
    const tail = b('$ '.repeat(40));
    const replay = b('$ '.repeat(60));
    expect(s(resumeFrom(tail, replay).bytes)).toBe('');
  });

  it('keeps multi-byte characters intact across the cut', () => {
    const all = 'é'.repeat(50) + 'ü'.repeat(50);
    const bytes = b(all);
    const seen = bytes.subarray(0, 100); // exactly the é's
    expect(s(resumeFrom(seen, bytes).bytes)).toBe('ü'.repeat(50));
  });
});

describe('byte search helpers', () => {
  it('finds the last occurrence end', () => {
    expect(lastOccurrenceEnd(b('ab'), b('xxabyyab'))).toBe(8);
    expect(lastOccurrenceEnd(b('aa'), b('aaaa'))).toBe(4);
    expect(lastOccurrenceEnd(b('zz'), b('aaaa'))).toBe(-1);
    expect(lastOccurrenceEnd(b('long pattern'), b('short'))).toBe(-1);
  });

  it('finds the longest suffix of a that is a prefix of b', () => {
    expect(longestSuffixPrefix(b('hello wor'), b('world'))).toBe(3);
    expect(longestSuffixPrefix(b('aaaa'), b('aab'))).toBe(2);
    expect(longestSuffixPrefix(b('abc'), b('xyz'))).toBe(0);
    expect(longestSuffixPrefix(b('xxab'), b('ab'))).toBe(2);
  });

  it('alignment is -1 when nothing fits', () => {
    expect(alignment(b('abcdef'), b('uvwxyz'), 1)).toBe(-1);
  });
});

describe('TailBuffer', () => {
  it('keeps the newest bytes up to its capacity', () => {
    const t = new TailBuffer(5);
    t.push(b('abc'));
    expect(s(t.bytes())).toBe('abc');
    t.push(b('de'));
    t.push(b('fg'));
    expect(s(t.bytes())).toBe('cdefg');
    t.push(b('0123456789'));
    expect(s(t.bytes())).toBe('56789');
    expect(t.length).toBe(5);
  });

  it('concatBytes joins chunks', () => {
    expect(s(concatBytes([b('ab'), b(''), b('cd')]))).toBe('abcd');
  });
});
