/**
 * Exposed ports of a workspace (control-plane.md §8): list, expose, revoke. Each exposure
 * is reachable through Warren's HTTP edge at `url` (host name) and `path_url` (a path on
 * Warren's own origin).
 */
import { api } from './client.js';

export interface PublicPort {
  port: number;
  hash?: string;
  label?: string;
  url?: string;
  path_url?: string;
  created_at?: string;
}

const base = (id: string) => `/workspace/${encodeURIComponent(id)}/public-access`;

export async function listPublicPorts(id: string, signal?: AbortSignal): Promise<PublicPort[]> {
  const body = await api<{ ports?: PublicPort[] }>('GET', base(id), { signal });
  return body.ports ?? [];
}

/** `port` is sent as typed when it is not a number, so the API names the mistake. */
export async function exposePort(id: string, port: number | string, label?: string): Promise<PublicPort> {
  const body = await api<{ port: PublicPort }>('POST', base(id), { body: label ? { port, label } : { port } });
  return body.port;
}

export async function revokePort(id: string, port: number): Promise<void> {
  await api('DELETE', `${base(id)}/${port}`);
}
