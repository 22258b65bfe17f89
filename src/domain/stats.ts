/**
 * Live stats in the seed's shape (details.stats): CPU % from the difference of two
 * cumulative samples, memory in MB and %, network totals humanised.
 */
import type { SandboxStats } from '../drivers/driver.js';

interface Sample {
  at: number;
  cpuNs: number;
}

export function humanBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

export class StatsView {
  private readonly last = new Map<string, Sample>();

  shape(id: string, s: SandboxStats, memoryMb: number): Record<string, unknown> {
    const now = Date.now();
    const prev = this.last.get(id);
    this.last.set(id, { at: now, cpuNs: s.cpuUsageNs });
    const cpuUsage = prev && now > prev.at ? ((s.cpuUsageNs - prev.cpuNs) / ((now - prev.at) * 1e6)) * 100 : 0;
    const totalMb = memoryMb;
    const usedMb = s.memoryBytes / (1024 * 1024);
    return {
      cpuUsage: Math.max(0, Math.round(cpuUsage * 10) / 10),
      memoryUsage: Math.round((usedMb / totalMb) * 1000) / 10,
      memoryUsedMB: Math.round(usedMb),
      memoryTotalMB: totalMb,
      networkIn: humanBytes(s.networkRxBytes),
      networkOut: humanBytes(s.networkTxBytes),
      pids: s.pids,
      diskUsedMB: Math.round(s.diskUsedBytes / (1024 * 1024)),
      diskTotalMB: Math.round(s.diskLimitBytes / (1024 * 1024)),
    };
  }

  forget(id: string): void {
    this.last.delete(id);
  }
}
