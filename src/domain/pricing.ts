/**
 * The price table: credits per unit of usage. One table prices both the recorded usage
 * (usage routes, credits chart) and the estimate for a size (GET /workspace/estimate),
 * so the two always agree. Units are binary: 1 GB = 1024 MB = 2^30 bytes; a month is
 * 730 hours. The defaults and the file format are documented in docs/SPECIFICATION.md
 * ("Usage and pricing"); the file is read by src/config/prices.ts.
 */
import type { UsageAmounts } from '../store/store.js';

export interface PriceTable {
  /** Credits per vCPU-hour of CPU time actually used. */
  vcpu_hour: number;
  /** Credits per GB-hour of memory in use. */
  memory_gb_hour: number;
  /** Credits per GB-month of writable-layer space in use. */
  disk_gb_month: number;
  /** Credits per GB the workspace sends. */
  network_egress_gb: number;
  /** Credits per GB the workspace receives. */
  network_ingress_gb: number;
}

export const DEFAULT_PRICES: Readonly<PriceTable> = Object.freeze({
  vcpu_hour: 1,
  memory_gb_hour: 0.5,
  disk_gb_month: 10,
  network_egress_gb: 5,
  network_ingress_gb: 0,
});

export const HOURS_PER_MONTH = 730;
const MB_PER_GB = 1024;
const BYTES_PER_GB = 2 ** 30;

/**
 * A price table from parsed JSON: an object whose keys are among DEFAULT_PRICES' and
 * whose values are finite non-negative numbers; keys left out keep their default.
 * Anything else throws an Error naming the key and `source` (start-up refuses to run).
 */
export function parsePriceTable(json: unknown, source: string): PriceTable {
  if (!json || typeof json !== 'object' || Array.isArray(json)) {
    throw new Error(`${source}: the price table must be a JSON object of credits per unit`);
  }
  const table: PriceTable = { ...DEFAULT_PRICES };
  for (const [key, value] of Object.entries(json)) {
    if (!(key in DEFAULT_PRICES)) {
      throw new Error(`${source}: unknown price key "${key}" (known: ${Object.keys(DEFAULT_PRICES).join(', ')})`);
    }
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw new Error(`${source}: price "${key}" must be a non-negative number, got ${JSON.stringify(value)}`);
    }
    table[key as keyof PriceTable] = value;
  }
  return table;
}

/** Credits of an amount of usage, by component. */
export interface Credits {
  cpu: number;
  memory: number;
  disk: number;
  network: number;
  total: number;
}

/** Human units of an amount of usage (what the prices are per). */
export function usageUnits(u: UsageAmounts) {
  return {
    vcpu_hours: u.cpu_seconds / 3600,
    memory_gb_hours: u.memory_mb_seconds / MB_PER_GB / 3600,
    disk_gb_months: u.disk_mb_hours / MB_PER_GB / HOURS_PER_MONTH,
    network_egress_gb: u.tx_bytes / BYTES_PER_GB,
    network_ingress_gb: u.rx_bytes / BYTES_PER_GB,
  };
}

export function creditsOf(u: UsageAmounts, p: PriceTable): Credits {
  const units = usageUnits(u);
  const cpu = units.vcpu_hours * p.vcpu_hour;
  const memory = units.memory_gb_hours * p.memory_gb_hour;
  const disk = units.disk_gb_months * p.disk_gb_month;
  const network = units.network_egress_gb * p.network_egress_gb + units.network_ingress_gb * p.network_ingress_gb;
  return { cpu, memory, disk, network, total: cpu + memory + disk + network };
}

/** Credits per hour of a workspace of this size using all of it (an upper bound: usage is billed as used). */
export function hourlyRate(size: { cpus: number; memoryMb: number; diskMb: number }, p: PriceTable) {
  const cpu = size.cpus * p.vcpu_hour;
  const memory = (size.memoryMb / MB_PER_GB) * p.memory_gb_hour;
  const disk = (size.diskMb / MB_PER_GB) * (p.disk_gb_month / HOURS_PER_MONTH);
  return { cpu, memory, disk, total: cpu + memory + disk };
}

/** Rounds for display (credits are computed from unrounded sums). */
export function round(n: number, digits = 6): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
