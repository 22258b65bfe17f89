/** Formatting of the overview's facts (pure): durations, dates, resources. */
import type { Workspace } from '../api/workspaces.js';

/** 3725 → "1h 2m"; 45 → "45s"; 90061 → "1d 1h". */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return '—';
  const s = Math.floor(seconds);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return h ? `${d}d ${h}h` : `${d}d`;
  if (h > 0) return m ? `${h}h ${m}m` : `${h}h`;
  if (m > 0) return s % 60 ? `${m}m ${s % 60}s` : `${m}m`;
  return `${s}s`;
}

export function formatDate(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

export function formatResources(r: Workspace['resources']): string {
  if (!r) return '—';
  const parts = [
    r.cpus !== undefined ? `${r.cpus} CPU${r.cpus === 1 ? '' : 's'}` : '',
    r.memory_mb !== undefined ? `${r.memory_mb} MB memory` : '',
    r.disk_size_mb !== undefined ? `${r.disk_size_mb} MB disk` : '',
  ].filter(Boolean);
  return parts.length ? parts.join(' · ') : '—';
}
