import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TerminalFeed } from './feed.js';

const te = new TextEncoder();
const td = new TextDecoder();

function setup(capacity = 1024) {
  const screen: string[] = [];
  const feed = new TerminalFeed({
    write: (bytes) => screen.push(td.decode(bytes)),
    onMissed: () => screen.push('[missed]'),
  }, capacity, 100);
  return { feed, screen, text: () => screen.join('') };
}

/** The server's side: everything printed, and the ring it replays. */
function server(capacity: number) {
  let all = '';
  return {
    print: (t: string) => { all += t; return te.encode(t); },
    replay: () => te.encode(all.slice(Math.max(0, all.length - capacity))),
  };
}

describe('TerminalFeed', () => {
  beforeEach(() => { vi.useFakeTimers(); });
  afterEach(() => { vi.useRealTimers(); });

  it('writes live output straight through', () => {
    const { feed, text } = setup();
    feed.push(te.encode('hello '));
    feed.push(te.encode('world'));
    expect(text()).toBe('hello world');
  });

  it('after a reconnect, writes only what was printed meanwhile, then live output', () => {
    const { feed, text } = setup(4096);
    const srv = server(4096);
    feed.push(srv.print('$ echo one\r\none\r\n$ '));
    // disconnected: the program prints on
    srv.print('two\r\n');
    feed.beginResync();
    feed.push(srv.replay());
    feed.push(srv.print('live\r\n'));
    expect(text()).toBe('$ echo one\r\none\r\n$ ');
    vi.advanceTimersByTime(100);
    expect(text()).toBe('$ echo one\r\none\r\n$ two\r\nlive\r\n');
    expect(feed.resyncing).toBe(false);
    feed.push(te.encode('after'));
    expect(text().endsWith('live\r\nafter')).toBe(true);
  });

  it('a replay split into frames is joined before it is compared', () => {
    const { feed, text } = setup(4096);
    const srv = server(4096);
    const first = 'x'.repeat(60) + '\r\n' + 'y'.repeat(60);
    feed.push(srv.print(first));
    srv.print('NEW');
    feed.beginResync();
    const replay = srv.replay();
    feed.push(replay.subarray(0, 50));
    vi.advanceTimersByTime(60);
    feed.push(replay.subarray(50));
    vi.advanceTimersByTime(100);
    expect(text()).toBe(first + 'NEW');
  });

  it('marks a gap when the ring no longer reaches what the screen showed', () => {
    const { feed, text } = setup(64);
    const srv = server(64);
    feed.push(srv.print('before the blip, something long enough to count\r\n'));
    srv.print('z'.repeat(200));
    feed.beginResync();
    feed.push(srv.replay());
    vi.advanceTimersByTime(100);
    expect(text()).toBe('before the blip, something long enough to count\r\n' + '[missed]' + 'z'.repeat(64));
  });

  it('settles as soon as a ring-full of bytes is held', () => {
    const { feed, text } = setup(64);
    const srv = server(64);
    feed.push(srv.print('a'.repeat(10) + 'b'.repeat(54)));
    feed.beginResync();
    feed.push(srv.replay());
    expect(feed.resyncing).toBe(false);
    expect(text()).toBe('a'.repeat(10) + 'b'.repeat(54));
  });

  it('an idle terminal settles with nothing to write', () => {
    const { feed, text } = setup();
    feed.push(te.encode('$ '));
    feed.beginResync();
    vi.advanceTimersByTime(100);
    expect(feed.resyncing).toBe(false);
    expect(text()).toBe('$ ');
  });

  it('an abandoned resync drops what it held', () => {
    const { feed, text } = setup();
    feed.beginResync();
    feed.push(te.encode('partial'));
    feed.abandonResync();
    vi.advanceTimersByTime(500);
    expect(text()).toBe('');
  });
});

describe('TerminalFeed.whenLive', () => {
  beforeEach(() => { vi.useFakeTimers(); });
  afterEach(() => { vi.useRealTimers(); });

  it('runs at once when live, after the replay when resyncing', () => {
    const { feed, screen } = setup();
    feed.whenLive(() => screen.push('[now]'));
    feed.beginResync();
    feed.push(te.encode('replayed'));
    feed.whenLive(() => screen.push('[exit]'));
    expect(screen).toEqual(['[now]']);
    vi.advanceTimersByTime(100);
    expect(screen).toEqual(['[now]', 'replayed', '[exit]']);
  });
});
