/**
 * Network policy of a workspace (seed 000): stored per workspace, private links
 * resolved from workspace ids to their addresses. Only ids that resolve to an
 * existing workspace (other than the target itself) are kept, as the seed says.
 */
import { applyNetworkPatch, replacementBase, type NetworkPatch } from '../contract/network.js';
import type { Store, WorkspaceRecord } from '../store/store.js';
import type { WorkspaceService } from './workspaces.js';

export interface PrivateLinkView {
  id: string;
  ip: string;
  name: string;
  image_logo: string | null;
  image_color: string | null;
}

export class NetworkPolicies {
  constructor(
    private readonly store: Store,
    private readonly workspaces: WorkspaceService,
    private readonly imageLook: (image: string) => { logo: string | null; color: string | null },
  ) {}

  async resolveLinks(ids: string[], selfId?: string): Promise<PrivateLinkView[]> {
    const out: PrivateLinkView[] = [];
    for (const id of ids) {
      const rec = await this.store.findWorkspace(id);
      if (!rec || rec.id === selfId || out.some((l) => l.id === rec.id)) continue;
      const look = this.imageLook(rec.image);
      out.push({ id: rec.id, ip: rec.ip, name: rec.name, image_logo: look.logo, image_color: look.color });
    }
    return out;
  }

  async update(idOrSlug: string, patch: NetworkPatch, replace: boolean): Promise<WorkspaceRecord> {
    const { id } = await this.workspaces.get(idOrSlug);
    return this.workspaces.withLock(id, async () => {
      const rec = await this.workspaces.get(id);
      const resolved = patch.private_link_ids
        ? { ...patch, private_link_ids: (await this.resolveLinks(patch.private_link_ids, rec.id)).map((l) => l.id) }
        : patch;
      const base = replace ? replacementBase(rec.network) : rec.network;
      const network = applyNetworkPatch(base, resolved);
      return this.store.updateWorkspace({ ...rec, network }, rec.version);
    });
  }
}
