/**
 * The log queries became zod schemas (`tailQuerySchema` in workloads.ts, `logSourceQuerySchema`
 * in logs.ts, once parsed by the domain); this holds `parseTail` and `parseLogSource` to the
 * hand-written parsers they replaced (copied below): the same value, or the same code and
 * `details.field`, over queries of one, two and three tail aliases and of every source.
 */
import { test } from 'node:test';
import { AppError } from './errors.js';
import { LOG_SOURCES, parseLogSource, type LogSource } from './logs.js';
import { parseTail } from './workloads.js';
import { same } from '../../test/support/parser-equivalence.js';

// ---- the hand-written parser as it was (src/contract/workloads.ts before the schema) ----

function legacyNum(v: unknown, field: string, min: number, max: number): number {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isFinite(n) || !Number.isInteger(n) || n < min || n > max) {
    throw new AppError('validation_error', `${field} must be an integer from ${min} to ${max}`, { field });
  }
  return n;
}

function legacyParseTail(q: Record<string, string | undefined>, def: number): number {
  const raw = q.tail_lines ?? q.tail ?? q.lines;
  if (raw === undefined || raw === '' || raw === 'undefined') return def;
  return legacyNum(raw, q.tail_lines !== undefined ? 'tail_lines' : q.tail !== undefined ? 'tail' : 'lines', 1, 10_000);
}

/** src/domain/workspace-logs.ts before the schema: the route passed it `q.source`. */
function legacyParseLogSource(v: string | undefined): LogSource {
  if (v === undefined || v === '') return 'all';
  if (!(LOG_SOURCES as readonly string[]).includes(v)) throw new AppError('validation_error', 'source must be one of: all, boot, cmd', { field: 'source' });
  return v as LogSource;
}

// ---- the comparison ----

const VALUES = ['1', '200', '10000', '10001', '0', '-1', '1.5', ' 7 ', '', ' ', 'undefined', 'abc', '1e3', '0x10', 'Infinity', 'NaN', '2e4', '+5'];
const NAMES = ['tail_lines', 'tail', 'lines'] as const;

test('log tail query: same line count, or same code and field, as the hand-written parser', () => {
  const corpus: Array<Record<string, string>> = [{}, { other: '5' }, { source: 'cmd' }];
  for (const name of NAMES) for (const v of VALUES) corpus.push({ [name]: v });
  for (const [a, b] of [['tail_lines', 'tail'], ['tail', 'lines'], ['tail_lines', 'lines']] as const) {
    for (const [x, y] of [['5', 'abc'], ['abc', '5'], ['', 'abc'], ['undefined', 'abc'], ['0', '0'], ['20', '30']]) corpus.push({ [a]: x!, [b]: y! });
  }
  corpus.push({ tail_lines: 'x', tail: 'y', lines: 'z' }, { lines: '9', tail: '', tail_lines: 'undefined' });
  for (const def of [500, 200, 10_000]) {
    same(`tail (default ${def})`, corpus, (q) => legacyParseTail(q as Record<string, string>, def), (q) => parseTail(q as Record<string, string>, def));
  }
});

test('log source: same source, or same code and field, as the hand-written parser the domain had', () => {
  const corpus: Array<Record<string, string>> = [{}, { tail: '5' }, { other: 'boot' }];
  for (const source of [...LOG_SOURCES, '', 'BOOT', 'stdout', ' cmd', 'all ', 'undefined', 'boot,cmd']) corpus.push({ source }, { source, tail: 'x' });
  same('source', corpus, (q) => legacyParseLogSource((q as Record<string, string>).source), (q) => parseLogSource(q as Record<string, string>));
});
