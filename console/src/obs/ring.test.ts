import { describe, expect, it } from 'vitest';
import { Ring } from './ring.js';

describe('Ring', () => {
  it('keeps items oldest first until full', () => {
    const r = new Ring<number>(3);
    r.push(1);
    r.push(2);
    expect(r.toArray()).toEqual([1, 2]);
    expect(r.length).toBe(2);
    expect(r.last()).toBe(2);
  });

  it('drops the oldest once full, and indexes from either end', () => {
    const r = new Ring<number>(3);
    for (let i = 1; i <= 7; i++) r.push(i);
    expect(r.toArray()).toEqual([5, 6, 7]);
    expect(r.length).toBe(3);
    expect(r.at(0)).toBe(5);
    expect(r.at(-1)).toBe(7);
    expect(r.at(3)).toBeUndefined();
  });

  it('stays bounded over a long run and clears', () => {
    const r = new Ring<number>(900);
    for (let i = 0; i < 10_000; i++) r.push(i);
    const a = r.toArray();
    expect(a.length).toBe(900);
    expect(a[0]).toBe(9100);
    expect(a[899]).toBe(9999);
    r.clear();
    expect(r.toArray()).toEqual([]);
    expect(r.last()).toBeUndefined();
  });

  it('refuses a capacity below one', () => {
    expect(() => new Ring(0)).toThrow(RangeError);
  });
});
