/** Records of namespaces (control-plane.md §21), re-exported from store.ts. */
import type { NamespaceLimits, NamespaceStatus, NamespaceType } from '../contract/namespaces.js';

export type { NamespaceLimits, NamespaceStatus, NamespaceType };

export interface NamespaceRecord {
  id: string;
  slug: string;
  name: string;
  description: string | null;
  status: NamespaceStatus;
  type: NamespaceType;
  is_default: boolean;
  metadata: Record<string, string>;
  tags: string[];
  resource_limits: NamespaceLimits | null;
  created_at: string;
  updated_at: string;
  last_active_at: string | null;
}

export interface NamespaceActivityRecord {
  id: number;
  namespace_id: string;
  action: string;
  description: string | null;
  changes: Record<string, unknown> | null;
  created_at: string;
}
