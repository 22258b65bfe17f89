/**
 * Workloads of a workspace (control-plane.md §11): list, create (`name` and a shell
 * `command`), start, stop, delete, one-shot stats, and the paths of the log stream. The
 * API has no restart route: the console's restart is stop then start.
 */
import { api } from './client.js';

export interface Workload {
  id: string;
  name?: string;
  status?: string;
  command?: string;
  cmd?: string[];
  restart_policy?: string;
  enabled?: boolean;
  restarts?: number;
  pid?: number | null;
  exit_code?: number | null;
  error?: string | null;
  started_at?: string | null;
  finished_at?: string | null;
  created_at?: string;
}

export interface WorkloadStats {
  workload_id?: string;
  status?: string;
  cpu_usage?: number;
  memory_mb?: number;
  memory_usage?: number;
  pids?: number;
}

export interface NewWorkload {
  name: string;
  command: string;
  restart_policy?: 'never' | 'on-failure' | 'always';
}

const base = (id: string) => `/workspace/${encodeURIComponent(id)}/workloads`;
const one = (id: string, wid: string) => `${base(id)}/${encodeURIComponent(wid)}`;

export const workloadLogStreamPath = (id: string, wid: string) => `${one(id, wid)}/logs/stream`;

export async function listWorkloads(id: string, signal?: AbortSignal): Promise<Workload[]> {
  return (await api<{ workloads?: Workload[] }>('GET', base(id), { signal })).workloads ?? [];
}

export async function createWorkload(id: string, w: NewWorkload): Promise<Workload> {
  const body: Record<string, unknown> = { command: w.command };
  if (w.name.trim()) body.name = w.name.trim();
  if (w.restart_policy) body.restart_policy = w.restart_policy;
  const res = await api<{ workload?: Workload } & Workload>('POST', base(id), { body });
  return res.workload ?? res;
}

export async function workloadPower(id: string, wid: string, action: 'start' | 'stop'): Promise<Workload> {
  const res = await api<{ workload?: Workload } & Workload>('POST', `${one(id, wid)}/${action}`);
  return res.workload ?? res;
}

export async function restartWorkload(id: string, wid: string): Promise<Workload> {
  await workloadPower(id, wid, 'stop');
  return workloadPower(id, wid, 'start');
}

export async function deleteWorkload(id: string, wid: string): Promise<void> {
  await api('DELETE', one(id, wid));
}

export async function workloadStats(id: string, wid: string, signal?: AbortSignal): Promise<WorkloadStats> {
  const res = await api<{ stats?: WorkloadStats } & WorkloadStats>('GET', `${one(id, wid)}/stats`, { signal });
  return res.stats ?? res;
}
