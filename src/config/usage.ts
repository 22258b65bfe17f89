/**
 * Usage accounting options (environment only) and the price table file. Read once at
 * start-up; a bad value or a bad price file stops start-up with a message naming it
 * (never silently ignored).
 *
 *   WARREN_USAGE_INTERVAL_MS              sampling period (default 15000, ≥ 100)
 *   WARREN_USAGE_RETENTION_DAYS           usage buckets kept (default 90)
 *   WARREN_ACTIVITY_RETENTION_DAYS        activity entries kept (default 90)
 *   WARREN_ACTIVITY_MAX_PER_WORKSPACE     newest activity entries kept per workspace (default 10000)
 *   WARREN_PRICES_FILE                    JSON price table; else <data dir>/prices.json if present; else defaults
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_PRICES, parsePriceTable, type PriceTable } from '../domain/pricing.js';

export interface UsageConfig {
  intervalMs: number;
  retentionDays: number;
  activityRetentionDays: number;
  activityMaxPerWorkspace: number;
  prices: PriceTable;
  /** Where the prices came from: a file path, or "defaults". */
  pricesSource: string;
}

function envInt(env: NodeJS.ProcessEnv, name: string, dflt: number, min: number): number {
  const v = env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer ≥ ${min}, got ${JSON.stringify(v)}`);
  return n;
}

/** The price table from `WARREN_PRICES_FILE`, else `<dataDir>/prices.json` if it exists, else the defaults. */
export function loadPrices(dataDir: string, env: NodeJS.ProcessEnv = process.env): { prices: PriceTable; source: string } {
  const named = env.WARREN_PRICES_FILE || undefined;
  const file = named ?? join(dataDir, 'prices.json');
  if (!named && !existsSync(file)) return { prices: { ...DEFAULT_PRICES }, source: 'defaults' };
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`price table ${file} cannot be read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`price table ${file} is not valid JSON: ${(err as Error).message}`);
  }
  return { prices: parsePriceTable(json, `price table ${file}`), source: file };
}

export function loadUsageConfig(dataDir: string, env: NodeJS.ProcessEnv = process.env): UsageConfig {
  const { prices, source } = loadPrices(dataDir, env);
  return {
    intervalMs: envInt(env, 'WARREN_USAGE_INTERVAL_MS', 15_000, 100),
    retentionDays: envInt(env, 'WARREN_USAGE_RETENTION_DAYS', 90, 1),
    activityRetentionDays: envInt(env, 'WARREN_ACTIVITY_RETENTION_DAYS', 90, 1),
    activityMaxPerWorkspace: envInt(env, 'WARREN_ACTIVITY_MAX_PER_WORKSPACE', 10_000, 1),
    prices,
    pricesSource: source,
  };
}
