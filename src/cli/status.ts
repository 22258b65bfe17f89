/**
 * `warren status [--data-dir D] [--json]`: what Warren instances own on this host, from
 * the owner records (src/host/owner-records.ts) and the kernel: for each owned bridge,
 * its subnet, the owner's data dir (and whether it still exists), its firewall tables
 * (and which are present), whether the owning server runs, and its sandboxes on the
 * host. Firewall tables of Warren instances that no record explains are listed too.
 * `--data-dir` limits the output to that instance. Reads only; changes nothing.
 */
import { resolve } from 'node:path';
import type { Flags } from '../config/load.js';
import { instanceIdFor } from '../config/load.js';
import {
  pathExists, presentTables, sandboxCount, warrenProcessAlive, warrenTableInstances,
} from '../host/host-objects.js';
import { listRecords } from '../host/owner-records.js';

export interface OwnedBridge {
  bridge: string;
  subnet: string;
  dataDir: string;
  dataDirExists: boolean;
  instanceId: string;
  tables: { inet: string; bridge: string };
  tablesPresent: string[];
  pid: number;
  serverRunning: boolean;
  sandboxes: number;
  since: string;
}

export interface HostStatus {
  bridges: OwnedBridge[];
  /** Warren firewall tables with no owner record (a Warren from before records, or a purge that was cut short). */
  unrecordedTables: Array<{ instanceId: string; tables: string[]; sandboxes: number }>;
}

export async function hostStatus(dataDir?: string): Promise<HostStatus> {
  const records = (await listRecords()).filter((r) => dataDir === undefined || r.dataDir === dataDir);
  const bridges: OwnedBridge[] = [];
  for (const r of records) {
    bridges.push({
      bridge: r.bridge, subnet: r.subnet, dataDir: r.dataDir, dataDirExists: await pathExists(r.dataDir),
      instanceId: r.instanceId, tables: r.tables, tablesPresent: await presentTables(r.instanceId),
      pid: r.pid, serverRunning: await warrenProcessAlive(r.pid), sandboxes: await sandboxCount(r.driver, r.instanceId),
      since: r.startedAt,
    });
  }
  const recorded = new Set((await listRecords()).map((r) => r.instanceId));
  const wanted = dataDir === undefined ? null : instanceIdFor(dataDir);
  const unrecordedTables: HostStatus['unrecordedTables'] = [];
  for (const id of await warrenTableInstances()) {
    if (recorded.has(id) || (wanted !== null && id !== wanted)) continue;
    unrecordedTables.push({ instanceId: id, tables: await presentTables(id), sandboxes: await sandboxCount('ns', id) });
  }
  return { bridges, unrecordedTables };
}

function yesNo(v: boolean): string {
  return v ? 'yes' : 'no';
}

export function renderStatus(s: HostStatus): string {
  if (s.bridges.length === 0 && s.unrecordedTables.length === 0) return 'No Warren instance owns anything on this host.\n';
  const lines: string[] = [];
  for (const b of s.bridges) {
    lines.push(`bridge ${b.bridge}  subnet ${b.subnet}`,
      `  data dir     ${b.dataDir}  (exists: ${yesNo(b.dataDirExists)}${b.dataDirExists ? '' : '; the next instance on this bridge cleans up after it'})`,
      `  tables       inet ${b.tables.inet}, bridge ${b.tables.bridge}  (present: ${b.tablesPresent.length ? b.tablesPresent.join(', ') : 'none'})`,
      `  server       ${b.serverRunning ? `running, pid ${b.pid}` : 'not running'}  (since ${b.since})`,
      `  sandboxes    ${b.sandboxes}`);
  }
  for (const u of s.unrecordedTables) {
    lines.push(`tables of instance ${u.instanceId} with no owner record: ${u.tables.join(', ') || 'none'}; ${u.sandboxes} sandbox(es)`);
  }
  return `${lines.join('\n')}\n`;
}

export async function statusCommand(flags: Flags): Promise<void> {
  const raw = flags['data-dir'];
  const dataDir = typeof raw === 'string' ? resolve(raw) : undefined;
  const status = await hostStatus(dataDir);
  process.stdout.write(flags.json === true ? `${JSON.stringify(status, null, 2)}\n` : renderStatus(status));
}
