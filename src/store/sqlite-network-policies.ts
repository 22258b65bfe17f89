/**
 * The network policies of every workspace as the firewall sync reads them (often: every
 * network sync). The policy column changes rarely, so an unchanged text gives back the same
 * frozen object as the previous read: the sync tells unchanged policies by identity instead
 * of parsing and comparing 1,000 of them. Entries of deleted workspaces go with the next read.
 */
import type { NetworkPolicyRow, WorkspaceRecord } from './store.js';

type Policy = WorkspaceRecord['network'];

/** Freezes a parsed JSON value and everything in it (shared read-only objects). */
function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

export class ParsedPolicies {
  private byId = new Map<string, { text: string; network: Policy }>();

  /** Rows of (id, ip, policy JSON) → policy rows, reusing what is unchanged since the last call. */
  read(rows: Array<{ id: string; ip: string; network: string }>): NetworkPolicyRow[] {
    const next = new Map<string, { text: string; network: Policy }>();
    const out = rows.map((r) => {
      const hit = this.byId.get(r.id);
      const network = hit?.text === r.network ? hit.network : deepFreeze(JSON.parse(r.network) as Policy);
      next.set(r.id, { text: r.network, network });
      return { id: r.id, ip: r.ip, network };
    });
    this.byId = next;
    return out;
  }
}
