/**
 * Live stats of a workspace (control-plane.md §12): the `StatsEvent` fields the monitor
 * reads, `GET /workspace/:id/stats` (one event) and the stream's path (1 s ticks; a final
 * `state: "stopped"` event and the end of the body when the workspace stops).
 */
import { api } from './client.js';

export interface StatsEvent {
  state?: 'running' | 'paused' | 'stopped';
  timestamp?: string;
  /** % of one core (200 = two cores busy). */
  cpu_usage?: number;
  cpu_percent_of_limit?: number;
  memory_used_mb?: number;
  memory_total_mb?: number;
  memory_usage?: number;
  disk_used_mb?: number;
  disk_total_mb?: number;
  disk_usage?: number;
  /** Cumulative bytes since the sandbox started. */
  rx_bytes?: number;
  tx_bytes?: number;
  network?: { rx?: number; tx?: number };
  /** Bytes per second over the server's last interval. */
  rx_rate?: number;
  tx_rate?: number;
  pids?: number;
}

const base = (id: string) => `/workspace/${encodeURIComponent(id)}`;

export const statsStreamPath = (id: string) => `${base(id)}/stats/stream`;

export async function getStats(id: string, signal?: AbortSignal): Promise<StatsEvent> {
  const body = await api<StatsEvent & { stats?: StatsEvent }>('GET', `${base(id)}/stats`, { signal });
  return body.stats ?? body;
}
