/**
 * Creating a workspace (`POST /workspace`, control-plane.md §2) and the operator's resource
 * ranges (`GET /workspace/quota` → `limits`) the form shows as hints. The body is built by
 * create/create-body.ts in the SDK's shape; this module only sends it.
 */
import { api } from './client.js';
import type { Workspace } from './workspaces.js';

export interface ResourceLimit { min: number; max: number; default: number }
export interface ResourceLimits {
  cpus?: ResourceLimit;
  memory_mb?: ResourceLimit;
  writable_size_mb?: ResourceLimit;
}

export async function createWorkspace(body: Record<string, unknown>): Promise<Workspace> {
  const res = await api<{ workspace: Workspace }>('POST', '/workspace', { body });
  return res.workspace;
}

/** The ranges, or null when the caller may not read the quota (a workspace token). */
export async function getLimits(signal?: AbortSignal): Promise<ResourceLimits | null> {
  try {
    const body = await api<{ limits?: ResourceLimits }>('GET', '/workspace/quota', { signal });
    return body.limits ?? null;
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    return null;
  }
}
