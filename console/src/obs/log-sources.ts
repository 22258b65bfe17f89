/**
 * The log sources of a workspace as the Logs and Workloads tabs offer them: the boot
 * stream (ends by design), the cmd stream and each workload's stream (both follow).
 */
import { workloadLogStreamPath, type Workload } from '../api/workloads.js';

export interface LogSource {
  key: string;
  label: string;
  path: string;
  follows: boolean;
}

export function logSources(id: string, workloads: Workload[]): LogSource[] {
  const ws = `/workspace/${encodeURIComponent(id)}`;
  return [
    { key: 'boot', label: 'Boot log', path: `${ws}/logs/stream/boot`, follows: false },
    { key: 'cmd', label: 'Command log', path: `${ws}/logs/stream/cmd`, follows: true },
    ...workloads.map((w) => workloadSource(id, w)),
  ];
}

export function workloadSource(id: string, w: Workload): LogSource {
  return { key: `workload:${w.id}`, label: `Workload ${w.name || w.id}`, path: workloadLogStreamPath(id, w.id), follows: true };
}
