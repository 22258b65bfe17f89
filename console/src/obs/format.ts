/** Number and time formats shared by the logs, monitor, snapshots and workloads views. */

export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = Math.max(0, n);
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? Math.round(v) : v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

export function rate(n: number | null | undefined): string {
  return n === null || n === undefined ? '—' : `${bytes(n)}/s`;
}

export function megabytes(mb: number | null | undefined): string {
  return mb === null || mb === undefined ? '—' : bytes(mb * 1024 * 1024);
}

/** `HH:MM:SS` of an ISO timestamp in local time ('' when unreadable). */
export function clock(iso: string): string {
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return '';
  return new Date(t).toLocaleTimeString(undefined, { hour12: false });
}

/** A date and time for tables ('—' when missing). */
export function when(iso: string | null | undefined): string {
  if (!iso) return '—';
  const t = Date.parse(iso);
  return Number.isFinite(t) ? new Date(t).toLocaleString(undefined, { hour12: false }) : iso;
}
