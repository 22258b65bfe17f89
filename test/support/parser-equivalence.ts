/**
 * Holds a converted request parser to the hand-written one it replaced (issue 15: one zod
 * schema per request). An outcome is the parsed value, or the refusal's code and
 * `details.field` — what clients match on; messages may differ.
 */
import assert from 'node:assert/strict';
import { AppError } from '../../src/contract/errors.js';

export type Outcome = { ok: unknown } | { code: string; field: unknown };

/** `view`: what of a parsed value is compared (default: all of it), e.g. with generated ids normalised. */
export function outcome(fn: () => unknown, view: (value: unknown) => unknown = (v) => v): Outcome {
  try {
    return { ok: view(fn()) };
  } catch (e) {
    assert.ok(e instanceof AppError, String(e));
    return { code: e.code, field: e.details?.field };
  }
}

/** Every body of `corpus` (≥ 20, valid and faulty ones) gives the same outcome to both parsers. */
export function same(
  label: string, corpus: readonly unknown[], legacy: (b: unknown) => unknown, current: (b: unknown) => unknown,
  view?: (value: unknown) => unknown,
): void {
  assert.ok(corpus.length >= 20, `${label}: a corpus of at least 20 bodies`);
  let refusals = 0;
  for (const b of corpus) {
    const want = outcome(() => legacy(b), view);
    if ('code' in want) refusals++;
    assert.deepEqual(outcome(() => current(b), view), want, `${label} ${JSON.stringify(b)}`);
  }
  assert.ok(refusals > 0 && refusals < corpus.length, `${label}: the corpus holds valid and faulty bodies`);
}
