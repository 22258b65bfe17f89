/**
 * Who is calling the control plane (spec README §2.1) and what that caller may reach.
 *
 * - `admin`: an admin API key; everything.
 * - `namespace`: a namespace API key or a namespace JWT; only that namespace's workspaces,
 *   lists filtered to it, creates forced into it.
 * - `workspace`: a workspace JWT or the 30-day workspace token; that one workspace.
 * - `billing`: a billing API key; usage, credits and quotas, read-mostly.
 *
 * Scoped principals carry their namespace's slug (workspaces name it) and id (a namespace
 * deleted and made again under the same slug does not inherit old tokens).
 */
import type { WorkspaceRecord } from '../store/store.js';

export type Scope = 'admin' | 'namespace' | 'workspace' | 'billing';
export const SCOPES: readonly Scope[] = ['admin', 'namespace', 'workspace', 'billing'];

/** The namespace a scoped caller is pinned to; null for a workspace outside any namespace. */
export interface NamespacePin {
  slug: string;
  id: string;
  /** A suspended namespace's callers may inspect, stop and delete, nothing else. */
  suspended: boolean;
}

export function pinOf(ns: { slug: string; id: string; status: string }): NamespacePin {
  return { slug: ns.slug, id: ns.id, suspended: ns.status === 'suspended' };
}

export type Principal =
  | { kind: 'admin'; clientId: string }
  | { kind: 'billing'; clientId: string }
  | { kind: 'namespace'; namespace: NamespacePin; clientId?: string; tokenId?: string }
  | { kind: 'workspace'; workspaceId: string; namespace: NamespacePin | null; tokenId?: string };

/** True when `p` may see and act on workspace `rec` at all (scopes of the route aside). */
export function reaches(p: Principal, rec: Pick<WorkspaceRecord, 'id' | 'namespace'>): boolean {
  switch (p.kind) {
    case 'admin':
      return true;
    case 'namespace':
      return rec.namespace === p.namespace.slug;
    case 'workspace':
      return rec.id === p.workspaceId;
    case 'billing':
      return true;
  }
}

/** The namespace slug a principal is pinned to, if any. */
export function pinnedNamespace(p: Principal): string | null {
  if (p.kind === 'namespace') return p.namespace.slug;
  if (p.kind === 'workspace') return p.namespace?.slug ?? null;
  return null;
}

/** The key a per-caller rate limit counts against. */
export function rateKeyOf(p: Principal): string {
  switch (p.kind) {
    case 'admin':
    case 'billing':
      return `key:${p.clientId}`;
    case 'namespace':
      return p.tokenId ? `tok:${p.tokenId}` : `key:${p.clientId}`;
    case 'workspace':
      return p.tokenId ? `tok:${p.tokenId}` : `ws:${p.workspaceId}`;
  }
}
