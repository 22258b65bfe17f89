import { describe, expect, it } from 'vitest';
import { SseParser } from './sse.js';

describe('SseParser', () => {
  it('yields one message per blank-line-terminated event, across chunk boundaries', () => {
    const p = new SseParser();
    expect(p.push('data: {"a":')).toEqual([]);
    expect(p.push('1}\n')).toEqual([]);
    expect(p.push('\n')).toEqual([{ event: null, data: { a: 1 } }]);
  });

  it('keeps named events, skips comments and non-JSON payloads, accepts CRLF', () => {
    const p = new SseParser();
    const out = p.push(': ping\n\nevent: stdout\r\ndata: {"x":"y"}\r\n\r\ndata: not json\n\ndata: 2\n\n');
    expect(out).toEqual([{ event: 'stdout', data: { x: 'y' } }, { event: null, data: 2 }]);
  });

  it('resets the event name after each event', () => {
    const p = new SseParser();
    expect(p.push('event: exit\ndata: {}\n\ndata: {}\n\n')).toEqual([{ event: 'exit', data: {} }, { event: null, data: {} }]);
  });
});
