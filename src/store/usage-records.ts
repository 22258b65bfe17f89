/**
 * Records of usage accounting and the activity history (control-plane.md §13), as the
 * Store keeps them. Plain data; the domain (src/domain/usage.ts, activity-log.ts) owns
 * their meaning. Times are ISO-8601 UTC strings (they sort lexicographically).
 */

/** Raw amounts of usage. Credits are never stored: they are the price table × these, when read. */
export interface UsageAmounts {
  /** CPU time used (all cores together). */
  cpu_seconds: number;
  /** Memory in use integrated over time. */
  memory_mb_seconds: number;
  /** Writable-layer space in use integrated over time. */
  disk_mb_hours: number;
  /** Bytes the workspace received. */
  rx_bytes: number;
  /** Bytes the workspace sent (egress). */
  tx_bytes: number;
}

/** The usage of one workspace in one bucket (a minute as stored; an hour or a day when grouped). */
export interface UsageRow extends UsageAmounts {
  workspace_id: string;
  bucket_start: string;
}

export type UsageTier = 'minute' | 'hour' | 'day';

/** `from` inclusive, `to` exclusive; null or absent = unbounded. Compared with bucket starts. */
export interface UsageRange {
  workspaceId?: string;
  from?: string | null;
  to?: string | null;
}

/** The usage of one workspace over a range, with its first and last minute bucket. */
export interface UsageTotalsRow extends UsageAmounts {
  workspace_id: string;
  first_bucket: string;
  last_bucket: string;
}

/**
 * Where the recorder's last sample of a workspace stood: cumulative counters and gauges
 * as read, and the sandbox start they belong to. Kept so that a restart of Warren
 * (workspaces keep running) counts on from them instead of losing or recounting usage.
 */
export interface UsageCursor {
  at: string;
  started_at: string | null;
  cpu_ns: number;
  rx_bytes: number;
  tx_bytes: number;
  memory_bytes: number;
  disk_bytes: number;
}

export interface UsageTrackingRecord {
  workspace_id: string;
  /** Tracking is on unless switched off (POST …/usage/tracking/stop). */
  enabled: boolean;
  /** When tracking was last switched on or off; null when never switched. */
  changed_at: string | null;
  cursor: UsageCursor | null;
}

/** One entry of the activity history. Kept after its workspace is deleted (until retention). */
export interface ActivityRecord {
  /** Ascending in the order entries were recorded; the pagination cursor. */
  id: number;
  workspace_id: string;
  type: string;
  from_state: string | null;
  to_state: string | null;
  /** Who caused it: user, ttl, restart_policy, idle, wake, remove_on_exit. */
  origin: string;
  reason: string | null;
  at: string;
  details: Record<string, unknown>;
}

export interface ActivityFilter {
  /** Only these workspaces (a namespace caller's); empty: nothing. */
  workspaceIds?: string[];
  workspaceId?: string;
  type?: string;
  /** Only entries with an id below this (the next page of a newest-first listing). */
  before?: number;
  limit: number;
}
