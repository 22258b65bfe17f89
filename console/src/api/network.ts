/**
 * A workspace's network policy (control-plane.md §6): `GET` what is in force, `PATCH` a
 * partial change (only the fields sent change; `allow_internet: false` empties `egress`).
 * `ingress` holds CIDRs and the `host` keyword (from public_access); PATCH cannot set it.
 */
import { api } from './client.js';

export interface PrivateLink {
  id: string;
  ip: string;
  name: string;
}

export interface NetworkPolicy {
  ip?: string;
  gateway?: string;
  allow_internet: boolean;
  public_access: boolean;
  ingress: string[];
  ingress_ports: number[];
  egress: string[];
  egress_ports: number[];
  outbound_ip?: string | null;
  private_link_ids: string[];
  private_links?: PrivateLink[];
}

export type NetworkPatch = Partial<Pick<NetworkPolicy,
  'allow_internet' | 'public_access' | 'egress' | 'private_link_ids'>> & {
  ingress_ports?: Array<number | string>;
  egress_ports?: Array<number | string>;
};

const path = (id: string) => `/workspace/${encodeURIComponent(id)}/network`;

export async function getNetwork(id: string, signal?: AbortSignal): Promise<NetworkPolicy> {
  const body = await api<Partial<NetworkPolicy>>('GET', path(id), { signal });
  return normalise(body);
}

/** Sends a partial change; answers once the kernel enforces it. */
export async function patchNetwork(id: string, patch: NetworkPatch): Promise<NetworkPolicy> {
  const body = await api<Partial<NetworkPolicy>>('PATCH', path(id), { body: patch });
  return normalise(body);
}

function normalise(b: Partial<NetworkPolicy>): NetworkPolicy {
  return {
    ...b,
    allow_internet: b.allow_internet ?? true,
    public_access: b.public_access ?? false,
    ingress: b.ingress ?? [],
    ingress_ports: b.ingress_ports ?? [],
    egress: b.egress ?? [],
    egress_ports: b.egress_ports ?? [],
    private_link_ids: b.private_link_ids ?? b.private_links?.map((l) => l.id) ?? [],
  };
}
