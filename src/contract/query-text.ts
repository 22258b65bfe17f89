/**
 * Building blocks of query-string schemas: every query parameter arrives as text, and an
 * empty one (`?limit=`) means "not given" on every route.
 */
import { z } from 'zod';

/** A whole number from `min` to `max` as text (`Number` reads it: ` 7`, `1e2` pass); absent or '' takes the default. */
export function wholeNumber(field: string, min: number, max: number, dflt: number) {
  const rule = `${field} must be an integer between ${min} and ${max}`;
  return z.string({ error: rule }).refine((v) => {
    if (v === '') return true;
    const n = Number(v);
    return Number.isInteger(n) && n >= min && n <= max;
  }, rule).optional().describe(`${min}–${max}, default ${dflt}`);
}

/** The number a `wholeNumber` (or other numeric text) holds, or `dflt` when absent or ''. */
export const numberOr = (v: string | undefined, dflt: number): number => (v === undefined || v === '' ? dflt : Number(v));

/** One of `values`, or '' (as if absent). */
export function oneOfText<const T extends readonly string[]>(field: string, values: T) {
  return z.enum(['', ...values] as ['', ...T], { error: `${field} must be one of ${values.join(', ')}` }).optional();
}

/** Text matching `pattern`, or '' (as if absent). */
export const matchingText = (pattern: RegExp, rule: string) => z.union([z.literal(''), z.string().regex(pattern, rule)], { error: rule }).optional();

/** `true`/`1` is on; anything else (absent, `false`, `0`, other text) is off. */
export const isOn = (v: string | undefined): boolean => v === 'true' || v === '1';
