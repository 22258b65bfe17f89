/**
 * `GET /workspace/:id/lifecycle` (control-plane.md §3): mode, restart policy and what it
 * did (`restart_info`), TTL and its expiry, the idle policy and whether it sleeps.
 */
import { api } from './client.js';

export interface RestartInfo {
  count: number;
  last_exit_code: number | null;
  last_exit_reason?: string | null;
  last_exit_at?: string | null;
  last_restart_at: string | null;
  next_restart_at: string | null;
}

export interface LifecycleStatus {
  mode?: 'permanent' | 'temporary';
  status?: string;
  restart_policy?: string;
  max_restarts?: number;
  restart_info?: RestartInfo;
  ttl?: number | null;
  ttl_action?: string;
  remove_on_exit?: boolean;
  uptime?: number;
  expires_at?: string | null;
  created_at?: string;
  idle?: { suspend_after: number; stop_after: number } | null;
  sleeping?: boolean;
  asleep_since?: string | null;
  snapshot_supported?: boolean;
}

export function getLifecycle(id: string, signal?: AbortSignal): Promise<LifecycleStatus> {
  return api<LifecycleStatus>('GET', `/workspace/${encodeURIComponent(id)}/lifecycle`, { signal });
}
