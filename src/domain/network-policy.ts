/**
 * Network policy of a workspace (seed 000): stored per workspace, enforced by
 * the policy sync (src/network/sync.ts) before a change is answered. Private links are resolved from
 * workspace ids to their addresses; only ids that resolve to an existing workspace
 * (other than the target itself) are kept, as the seed says. A deleted workspace
 * leaves every link that named it. A link to a workspace on another node is refused with
 * 409 `cross_node_link` (no cross-node overlay yet: the node's firewall only knows its own
 * bridge). Outbound IPs come from the operator's pool.
 */
import { AppError } from '../contract/errors.js';
import { applyNetworkPatch, replacementBase, type NetworkPatch } from '../contract/network.js';
import type { OutboundIp } from '../config/network.js';
import type { Store, WorkspaceRecord } from '../store/store.js';
import type { HostAddressProbe, PolicySyncPort } from './ports.js';
import type { WorkspaceService } from './workspaces.js';
import { faultPoint } from '../util/fault-points.js';
import { checkSameNode } from './nodes.js';

export interface PrivateLinkView {
  id: string;
  ip: string;
  name: string;
  image_logo: string | null;
  image_color: string | null;
}

export interface NetworkPoliciesDeps {
  store: Store;
  workspaces: WorkspaceService;
  sync: PolicySyncPort;
  imageLook: (image: string) => { logo: string | null; color: string | null };
  /** The operator's pool of outbound IPs (GET /zone/mine). */
  pool: OutboundIp[];
  /** Whether workspace traffic can leave the host at all (an upstream is configured). */
  hasUpstream: boolean;
  /** Whether an outbound IP is configured on this host (src/network/upstream.ts). */
  hostHasAddress: HostAddressProbe;
  log: (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
}

export class NetworkPolicies {
  constructor(private readonly d: NetworkPoliciesDeps) {}

  async resolveLinks(ids: string[], selfId?: string): Promise<PrivateLinkView[]> {
    return (await this.linkedRecords(ids, selfId)).map((rec) => {
      const look = this.d.imageLook(rec.image);
      return { id: rec.id, ip: rec.ip, name: rec.name, image_logo: look.logo, image_color: look.color };
    });
  }

  /** The existing workspaces `ids` name, once each, `selfId` left out. */
  private async linkedRecords(ids: string[], selfId?: string): Promise<WorkspaceRecord[]> {
    const out: WorkspaceRecord[] = [];
    for (const id of ids) {
      const rec = await this.d.store.findWorkspace(id);
      if (!rec || rec.id === selfId || out.some((l) => l.id === rec.id)) continue;
      out.push(rec);
    }
    return out;
  }

  /** The ids a patch's links resolve to; 409 cross_node_link for one on another node than `rec`. */
  private async linkIds(rec: WorkspaceRecord, ids: string[]): Promise<string[]> {
    const linked = await this.linkedRecords(ids, rec.id);
    for (const other of linked) checkSameNode(rec, other);
    return linked.map((l) => l.id);
  }

  /** PATCH (partial) or PUT (replace); resolves once the kernel enforces the result. */
  async update(idOrSlug: string, patch: NetworkPatch, replace: boolean): Promise<WorkspaceRecord> {
    const { id } = await this.d.workspaces.get(idOrSlug);
    const saved = await this.d.workspaces.withLock(id, async () => {
      const rec = await this.d.workspaces.get(id);
      const resolved = patch.private_link_ids
        ? { ...patch, private_link_ids: await this.linkIds(rec, patch.private_link_ids) }
        : patch;
      const base = replace ? replacementBase(rec.network) : rec.network;
      const network = applyNetworkPatch(base, resolved);
      return this.d.store.updateWorkspace({ ...rec, network }, rec.version);
    });
    faultPoint('network.policy-stored');
    await this.d.sync.sync();
    faultPoint('network.synced');
    return saved;
  }

  pool(): OutboundIp[] {
    return this.d.pool.map((p) => ({ ...p }));
  }

  /** POST /network/ip: assigns an outbound IP of the pool (seed 000 errors). */
  /** `ip` is the parsed body (contract `parseOutboundIp`, at the edge); pool and host are checked here. */
  async applyOutboundIp(idOrSlug: string, ip: string): Promise<OutboundIp> {
    if (this.d.pool.length === 0) throw new AppError('pool_empty', 'No outbound IPs are configured on this server');
    const entry = this.d.pool.find((p) => p.ip === ip);
    if (!entry) throw new AppError('invalid_zone_ip', `${ip} is not in the outbound IP pool (GET /zone/mine)`, { field: 'ip' });
    if (!this.d.hasUpstream || !(await this.d.hostHasAddress(ip))) {
      throw new AppError('zone_missing_host',
        this.d.hasUpstream ? `${ip} is not an address of this host` : 'This server has no upstream for outbound traffic',
        { field: 'ip' });
    }
    const { id } = await this.d.workspaces.get(idOrSlug);
    await this.d.workspaces.withLock(id, async () => {
      const rec = await this.d.workspaces.get(id);
      await this.d.store.updateWorkspace({ ...rec, network: { ...rec.network, outbound_ip: ip } }, rec.version);
    });
    await this.d.sync.sync();
    return { ...entry };
  }

  /** A deleted workspace leaves every policy that linked it; then the rules follow. */
  async forgetWorkspace(deleted: { id: string; ip: string }): Promise<void> {
    for (const rec of await this.d.store.allWorkspaces()) {
      if (!rec.network.private_link_ids.includes(deleted.id)) continue;
      await this.d.workspaces.withLock(rec.id, async () => {
        const cur = await this.d.store.getWorkspace(rec.id);
        if (!cur) return;
        const links = cur.network.private_link_ids.filter((x) => x !== deleted.id);
        await this.d.store.updateWorkspace({ ...cur, network: { ...cur.network, private_link_ids: links } }, cur.version);
      });
    }
    await this.d.sync.sync();
  }
}
