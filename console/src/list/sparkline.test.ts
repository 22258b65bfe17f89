import { describe, expect, it } from 'vitest';
import { sparkPath } from './sparkline.js';

const size = { width: 100, height: 22, capacity: 11 };

describe('sparkPath', () => {
  it('is empty without values', () => {
    expect(sparkPath([], size)).toBe('');
  });

  it('draws one value as a short stroke at the right edge', () => {
    expect(sparkPath([50], size)).toBe('M97,11L100,11');
  });

  it('puts the newest value at the right edge, spaced for the capacity', () => {
    // step = 100 / 10 = 10; 0% is the bottom (y = 21), 100% the top (y = 1)
    expect(sparkPath([0, 100], size)).toBe('M90,21L100,1');
  });

  it('clamps values outside 0–100 and treats non-numbers as 0', () => {
    expect(sparkPath([-20, 250, Number.NaN], size)).toBe('M80,21L90,1L100,21');
  });

  it('keeps only the last `capacity` values, filling the whole width', () => {
    const values = Array.from({ length: 20 }, (_, i) => i);
    const path = sparkPath(values, size);
    expect(path.startsWith('M0,')).toBe(true);
    expect(path.split('L')).toHaveLength(11);
  });
});
