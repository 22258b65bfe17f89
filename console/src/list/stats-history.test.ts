import { describe, expect, it } from 'vitest';
import { mergeSamples, runLimited, type History } from './stats-history.js';

describe('mergeSamples', () => {
  it('appends one point per workspace and keeps at most `cap`', () => {
    let h: History = new Map();
    const keep = new Set(['a', 'b']);
    for (let i = 0; i < 5; i++) h = mergeSamples(h, [{ id: 'a', cpu: i, mem: i * 10 }], keep, 3);
    expect(h.get('a')).toEqual({ cpu: [2, 3, 4], mem: [20, 30, 40] });
    expect(h.has('b')).toBe(false);
  });

  it('drops workspaces that left the list, and ignores samples of them', () => {
    const h = mergeSamples(new Map([['gone', { cpu: [1], mem: [1] }]]), [{ id: 'x', cpu: 1, mem: 1 }], new Set(['a']));
    expect([...h.keys()]).toEqual([]);
  });

  it('answers the same history when nothing changes', () => {
    const h: History = new Map([['a', { cpu: [1], mem: [2] }]]);
    expect(mergeSamples(h, [], new Set(['a', 'b']))).toBe(h);
    expect(mergeSamples(h, [{ id: 'x', cpu: 1, mem: 1 }], new Set(['a']))).toBe(h);
  });

  it('does not change the history it is given', () => {
    const before = new Map([['a', { cpu: [1], mem: [2] }]]);
    mergeSamples(before, [{ id: 'a', cpu: 3, mem: 4 }], new Set(['a']));
    expect(before.get('a')).toEqual({ cpu: [1], mem: [2] });
  });
});

describe('runLimited', () => {
  it('never has more than `limit` calls in flight, runs them all, and survives failures', async () => {
    let inFlight = 0;
    let most = 0;
    const done: number[] = [];
    await runLimited([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((r) => setTimeout(r, 1));
      inFlight--;
      if (n === 4) throw new Error('boom');
      done.push(n);
    });
    expect(most).toBe(3);
    expect(done.sort()).toEqual([1, 2, 3, 5, 6, 7]);
  });
});
