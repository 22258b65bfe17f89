import { describe, expect, it } from 'vitest';
import { SseParser } from '../api/sse.js';
import { entryOf, LogBuffer } from './log-buffer.js';

const texts = (b: LogBuffer) => b.toArray().map((l) => l.text);

describe('entryOf', () => {
  it('reads the boot and cmd stream events (message, level, stream)', () => {
    expect(entryOf({ source: 'boot', timestamp: 't1', message: 'Boot complete', line: 'Boot complete', level: 'info' }))
      .toEqual({ timestamp: 't1', text: 'Boot complete', stream: null, level: 'info', open: false });
    expect(entryOf({ source: 'cmd', timestamp: 't2', message: 'oops', stream: 'stderr' })?.stream).toBe('stderr');
  });

  it('reads a workload entry from its data, newlines kept', () => {
    expect(entryOf({ data: 'a\nb\n', message: 'a\nb', stream: 'stdout', timestamp: 't' }))
      .toEqual({ timestamp: 't', text: 'a\nb', stream: 'stdout', level: null, open: false });
    expect(entryOf({ data: 'partial', stream: 'stdout', timestamp: 't' })?.open).toBe(true);
  });

  it('ignores payloads without text', () => {
    expect(entryOf(null)).toBeNull();
    expect(entryOf({ state: 'running' })).toBeNull();
    expect(entryOf('text')).toBeNull();
  });
});

describe('LogBuffer', () => {
  it('splits entries into lines and joins a chunk cut mid-line with its continuation', () => {
    const b = new LogBuffer();
    b.add(entryOf({ data: 'one\ntw', stream: 'stdout', timestamp: 't1' })!);
    b.add(entryOf({ data: 'o\nthree\n', stream: 'stdout', timestamp: 't2' })!);
    b.add(entryOf({ data: 'four\n', stream: 'stderr', timestamp: 't3' })!);
    expect(texts(b)).toEqual(['one', 'two', 'three', 'four']);
    expect(b.toArray().map((l) => l.stream)).toEqual(['stdout', 'stdout', 'stdout', 'stderr']);
  });

  it('keeps only the last `capacity` lines and counts the dropped ones', () => {
    const b = new LogBuffer(5000);
    for (let i = 0; i < 12_000; i++) b.add({ timestamp: `t${i}`, text: `line ${i}`, stream: null, level: null, open: false });
    expect(b.length).toBe(5000);
    expect(b.dropped).toBe(7000);
    expect(texts(b)[0]).toBe('line 7000');
    expect(texts(b)[4999]).toBe('line 11999');
    const ids = b.toArray().map((l) => l.id);
    expect(new Set(ids).size).toBe(5000);
  });

  it('after a reconnect, skips the replayed tail it already holds and keeps what is new', () => {
    const b = new LogBuffer();
    const line = (ts: string, text: string) => ({ timestamp: ts, text, stream: 'stdout' as const, level: null, open: false });
    b.add(line('2026-01-01T00:00:01.000Z', 'a'));
    b.add(line('2026-01-01T00:00:02.000Z', 'b'));
    b.add(line('2026-01-01T00:00:02.000Z', 'c'));
    b.resume();
    // The server replays its tail: a, b, c again, then new lines (one with the same timestamp).
    expect(b.add(line('2026-01-01T00:00:01.000Z', 'a'))).toBe(false);
    expect(b.add(line('2026-01-01T00:00:02.000Z', 'b'))).toBe(false);
    expect(b.add(line('2026-01-01T00:00:02.000Z', 'c'))).toBe(false);
    expect(b.add(line('2026-01-01T00:00:02.000Z', 'd'))).toBe(true);
    expect(b.add(line('2026-01-01T00:00:03.000Z', 'a'))).toBe(true);
    expect(b.add(line('2026-01-01T00:00:01.000Z', 'late but after the filter ended'))).toBe(true);
    expect(texts(b)).toEqual(['a', 'b', 'c', 'd', 'a', 'late but after the filter ended']);
  });

  it('clear empties the view but a reconnect still skips what was cleared', () => {
    const b = new LogBuffer();
    b.add({ timestamp: 't1', text: 'old', stream: null, level: null, open: false });
    b.clear();
    expect(b.length).toBe(0);
    b.resume();
    expect(b.add({ timestamp: 't1', text: 'old', stream: null, level: null, open: false })).toBe(false);
    expect(b.add({ timestamp: 't2', text: 'new', stream: null, level: null, open: false })).toBe(true);
    expect(texts(b)).toEqual(['new']);
  });

  it('takes the SSE body of a cmd stream as the server writes it', () => {
    const p = new SseParser();
    const b = new LogBuffer();
    const body = ': ping\n\n'
      + 'data: {"source":"cmd","timestamp":"2026-01-01T00:00:00.000Z","message":"CMD-MARK-1","line":"CMD-MARK-1","stream":"stdout"}\n\n'
      + 'data: {"source":"cmd","timestamp":"2026-01-01T00:00:00.300Z","message":"beat","line":"beat","stream":"stdout"}\n\n';
    for (const chunk of [body.slice(0, 50), body.slice(50, 140), body.slice(140)]) {
      for (const m of p.push(chunk)) {
        const e = entryOf(m.data);
        if (e) b.add(e);
      }
    }
    expect(texts(b)).toEqual(['CMD-MARK-1', 'beat']);
  });
});
