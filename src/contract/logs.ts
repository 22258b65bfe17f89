/**
 * The query of GET /workspace/:id/logs (control-plane.md §14): which log, `source`
 * (all | boot | cmd; absent or '' is all), judged before the tail (`parseTail`, workloads.ts).
 */
import { z } from 'zod';
import { oneOfText } from './query-text.js';
import { parseWith } from './zod-parse.js';

export const LOG_SOURCES = ['all', 'boot', 'cmd'] as const;
export type LogSource = (typeof LOG_SOURCES)[number];

export const logSourceQuerySchema = z.object({ source: oneOfText('source', LOG_SOURCES).describe('all | boot | cmd, default all') });

export function parseLogSource(q: Record<string, string | undefined>): LogSource {
  return parseWith(logSourceQuerySchema, q).source || 'all';
}
