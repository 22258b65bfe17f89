/**
 * Control-plane calls about workspaces (control-plane.md §2–3), typed as far as the console
 * reads them. Other resources keep their calls in their own modules beside this one.
 */
import { api } from './client.js';

export interface Workspace {
  id: string;
  name?: string;
  namespace?: string | null;
  mode?: 'permanent' | 'temporary';
  image?: string;
  status?: string;
  ready?: boolean;
  ip?: string;
  uptime?: number;
  info?: { status?: string; is_running?: boolean; user_requested_stop?: boolean };
  provisioning?: { state?: string; phase?: string; message?: string; error?: { code: string; message: string } | null } | null;
  access?: { ssh_enabled?: boolean };
  network?: { allow_internet?: boolean; ingress_ports?: number[]; egress_ports?: number[]; egress?: string[]; public_access?: boolean; ingress?: string[] };
  public_ports?: { port: number; hash?: string; label?: string; url?: string }[];
  resources?: { cpus?: number; memory_mb?: number; disk_size_mb?: number };
  lifecycle?: { ttl?: string | number | null; ttl_action?: string; remove_on_exit?: boolean; restart_policy?: string; ttl_expires_at?: string | null };
  created_at?: string;
  updated_at?: string;
  [key: string]: unknown;
}

/** The state to show: `info.status` when present, else `status`. */
export function stateOf(ws: Workspace): string {
  return ws.info?.status ?? ws.status ?? 'unknown';
}

/** Every workspace the caller may see (the API pages by 100 at most). */
export async function listWorkspaces(signal?: AbortSignal): Promise<Workspace[]> {
  const all: Workspace[] = [];
  for (let page = 1; page <= 50; page++) {
    const body = await api<{ workspaces?: Workspace[]; total?: number }>('GET', '/workspace', { query: { limit: 100, page }, signal });
    const items = body.workspaces ?? [];
    all.push(...items);
    if (items.length < 100 || (body.total !== undefined && all.length >= body.total)) break;
  }
  return all;
}

export async function getWorkspace(id: string, signal?: AbortSignal): Promise<Workspace> {
  const body = await api<{ workspace?: Workspace } & Workspace>('GET', `/workspace/${encodeURIComponent(id)}`, { signal });
  return body.workspace ?? body;
}

export const POWER_ACTIONS = ['start', 'stop', 'restart', 'pause', 'resume'] as const;
export type PowerAction = typeof POWER_ACTIONS[number];

export async function power(id: string, action: PowerAction): Promise<Workspace | undefined> {
  const body = await api<{ workspace?: Workspace }>('POST', `/workspace/${encodeURIComponent(id)}/${action}`);
  return body.workspace;
}

export async function deleteWorkspace(id: string): Promise<void> {
  await api('DELETE', `/workspace/${encodeURIComponent(id)}`);
}

/** Which power actions make sense in a state (the API still decides; a 409 says why not). */
export function actionsFor(state: string): PowerAction[] {
  switch (state) {
    case 'running': return ['stop', 'restart', 'pause'];
    case 'paused': return ['resume', 'stop'];
    case 'stopped': case 'archived': return ['start'];
    case 'failed': return ['start', 'restart', 'stop'];
    default: return [];
  }
}
