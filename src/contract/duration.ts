/**
 * Durations as the clients send them: bare seconds (number or numeric string) or
 * `^\d+(s|m|h|d)$` ("30s", "15m", "1h", "7d"). Returns seconds, or null if malformed.
 */
const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

export function parseDuration(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 ? Math.floor(v) : null;
  if (typeof v !== 'string') return null;
  const s = v.trim();
  if (/^\d+$/.test(s)) return Number(s);
  const m = /^(\d+)(s|m|h|d)$/.exec(s);
  if (!m) return null;
  return Number(m[1]) * UNIT_SECONDS[m[2] as string]!;
}
