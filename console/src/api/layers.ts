/**
 * Snapshots, archives and forks of a workspace (control-plane.md §10 and Warren's fork
 * extension), plus the activity entries that list them: the API keeps only the newest
 * snapshot (what restore uses) and has no snapshot list, so the history of snapshots and
 * forks is read from `GET /workspace/:id/activity?type=snapshot|forked`; a fork names its
 * source in its config (`forked_from`, GET /workspace/:id/config).
 */
import { api } from './client.js';
import type { Workspace } from './workspaces.js';

export type SnapshotAfter = 'resume' | 'paused' | 'stop';

export interface Snapshot {
  id: string;
  created_at?: string;
  bytes?: number;
  frozen_ms?: number;
  copy_on_write?: boolean;
  memory?: boolean;
}

export interface Archive {
  version: string;
  status?: 'ready' | 'writing';
  format?: string;
  size_bytes?: number | null;
  sha256?: string | null;
  vm_paths?: string[];
  created_at?: string;
  completed_at?: string | null;
}

export interface Activity {
  id: string;
  type: string;
  at: string;
  origin?: string;
  details?: Record<string, unknown>;
}

export interface LifecycleInfo {
  snapshot_supported?: boolean;
  snapshot_unavailable_reason?: string | null;
  memory_snapshot_supported?: boolean;
}

const base = (id: string) => `/workspace/${encodeURIComponent(id)}`;

export async function lifecycleInfo(id: string, signal?: AbortSignal): Promise<LifecycleInfo> {
  return api<LifecycleInfo>('GET', `${base(id)}/lifecycle`, { signal });
}

export async function takeSnapshot(id: string, after: SnapshotAfter): Promise<Snapshot> {
  return (await api<{ snapshot: Snapshot }>('POST', `${base(id)}/snapshot`, { body: { after } })).snapshot;
}

/** Restores the latest snapshot, or the archive `version`. */
export async function restore(id: string, version?: string): Promise<void> {
  await api('POST', `${base(id)}/restore`, { body: version ? { archive: version } : {} });
}

export async function listArchives(id: string, signal?: AbortSignal): Promise<Archive[]> {
  return (await api<{ archives?: Archive[] }>('GET', `${base(id)}/archives`, { signal })).archives ?? [];
}

export async function createArchive(id: string, opts: { version?: string; format?: string }): Promise<Archive> {
  const body: Record<string, unknown> = {};
  if (opts.version?.trim()) body.version = opts.version.trim();
  if (opts.format) body.format = opts.format;
  const res = await api<{ archive?: Archive } & Archive>('POST', `${base(id)}/archives`, { body });
  return res.archive ?? res;
}

export async function deleteArchive(id: string, version: string, deleteFile: boolean): Promise<void> {
  await api('DELETE', `${base(id)}/archives/${encodeURIComponent(version)}`, { query: { delete_file: deleteFile || undefined } });
}

export async function fork(id: string, opts: { name?: string; count?: number }): Promise<Workspace[]> {
  const body: Record<string, unknown> = { count: opts.count ?? 1 };
  if (opts.name?.trim()) body.name = opts.name.trim();
  return (await api<{ workspaces?: Workspace[] }>('POST', `${base(id)}/fork`, { body })).workspaces ?? [];
}

/** Activity of one type, newest first. */
export async function activityOf(id: string, type: 'snapshot' | 'forked' | 'restored', signal?: AbortSignal, limit = 20): Promise<Activity[]> {
  const res = await api<{ activity?: Record<string, Activity> }>('GET', `${base(id)}/activity`, { query: { type, limit }, signal });
  const n = (a: Activity) => Number(a.id.replace(/^act_/, '')) || 0;
  return Object.values(res.activity ?? {}).sort((a, b) => n(b) - n(a));
}

/** The workspace this one was forked from, if any. */
export async function forkedFrom(id: string, signal?: AbortSignal): Promise<string | null> {
  const res = await api<{ config?: Record<string, unknown> }>('GET', `${base(id)}/config`, { signal });
  const v = res.config?.forked_from;
  return typeof v === 'string' ? v : null;
}
