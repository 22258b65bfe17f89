/**
 * Records of namespace quotas and default quotas (control-plane.md §21 "Namespace quotas"),
 * re-exported from store.ts. Amounts are credits of the operator's price table.
 */

export type OverdraftAction = 'block' | 'stop_workspaces';

/** A namespace's spending limit for one service. Key: (namespace_id, service). */
export interface NamespaceQuotaRecord {
  namespace_id: string;
  service: string;
  quota_limit: number;
  /** Credits used since `usage_since`, as last computed (the domain refreshes it). */
  quota_used: number;
  overdraft: number;
  on_overdraft_action: OverdraftAction;
  /** Percentages of the limit that fire a notification; null = the defaults, [] = none. */
  notification_thresholds: number[] | null;
  /** The highest threshold already fired since `usage_since`; null = none. */
  last_threshold_fired: number | null;
  enabled: boolean;
  /** Usage counts from here (the set or the last reset); quotas never reset by themselves. */
  usage_since: string;
  created_at: string;
  updated_at: string;
}

/** A quota given to namespaces created while `auto_apply` is on. Key: (level, service). */
export interface DefaultQuotaRecord {
  level: 'namespace';
  service: string;
  quota_limit: number;
  overdraft: number;
  on_overdraft_action: OverdraftAction;
  auto_apply: boolean;
  enabled: boolean;
  created_at: string;
  updated_at: string;
}
