/**
 * `warren nodes [--database-url URL | --data-dir D] [--json]`: the node registry as the
 * database holds it (id, name, state, heartbeat age, capacity, allocated, workspaces), and
 * `warren nodes drain <id>` / `warren nodes undrain <id>`. Like `warren migrate`, it reads
 * the store directly (PostgreSQL with --database-url or WARREN_DATABASE_URL, else the SQLite
 * file of the data dir), so it works with no replica running.
 *
 * It never changes the schema: a database behind this build (or with no file yet) asks
 * for `warren migrate` first; one ahead of it is refused (refuseUnknownVersions).
 * Failures (unknown node, lost node, schema) throw AppErrors; `warren` prints them on one
 * line and exits 1.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DEFAULTS, type Flags } from '../config/load.js';
import { AppError } from '../contract/errors.js';
import { NodeRegistry, nodeRegistrySettings, type NodeView } from '../domain/nodes.js';
import { refuseUnknownVersions } from '../store/migrations.js';
import { openStoreUnmigrated, type MigratableStore } from '../store/open.js';
import { DB_FILE_NAME } from '../store/sqlite.js';
import { flagOrEnv } from './migrate.js';

export const NODES_USAGE = `  warren nodes [--database-url URL | --data-dir D] [--json]   (registered nodes: state, heartbeat, capacity, allocated)
  warren nodes drain|undrain <id> [--database-url URL | --data-dir D]   (drain: no new placements; workspaces keep running)`;

/** The migration that made the `nodes` table (migrations.ts, postgres-migrations.ts). */
const NODES_SCHEMA_VERSION = 11;

/** `3s`, `4m10s`, `2h5m`, `3d4h`: how long ago the last heartbeat was. */
export function ageText(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60 ? `${s % 60}s` : ''}`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${Math.floor(s / 60) % 60 ? `${Math.floor(s / 60) % 60}m` : ''}`;
  return `${Math.floor(s / 86_400)}d${Math.floor(s / 3600) % 24 ? `${Math.floor(s / 3600) % 24}h` : ''}`;
}

const num = (n: number) => String(Math.round(n * 100) / 100);

/** One line per node, columns padded; `allocated/capacity` per resource. */
export function nodesTable(nodes: readonly NodeView[]): string {
  const header = ['ID', 'NAME', 'STATE', 'HEARTBEAT', 'ADDRESS', 'CPUS', 'MEMORY_MB', 'DISK_MB', 'WORKSPACES'];
  const rows = nodes.map((n) => [
    n.id, n.name, n.state, `${ageText(n.heartbeat_age_ms)} ago`, n.address,
    `${num(n.allocated.cpus)}/${num(n.capacity.cpus)}`, `${num(n.allocated.memory_mb)}/${num(n.capacity.memory_mb)}`,
    `${num(n.allocated.disk_mb)}/${num(n.capacity.disk_mb)}`, `${n.allocated.workspaces}/${n.capacity.max_workspaces}`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [header, ...rows].map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n') + '\n';
}

/** Throws unless the schema has the node registry and nothing newer than this build. */
async function requireNodesSchema(store: MigratableStore): Promise<void> {
  const { applied, known } = await store.schemaVersions();
  refuseUnknownVersions(applied, known.map((version) => ({ version })));
  if (!applied.includes(NODES_SCHEMA_VERSION)) {
    throw new AppError('server_error', 'The database schema predates the node registry; run `warren migrate` first', {
      field: 'schema_version',
    });
  }
}

/** Runs the command; resolves with the process exit code. */
export async function nodesCommand(positional: string[], flags: Flags, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const [action, id, ...extra] = positional;
  if (action !== undefined && (action !== 'drain' && action !== 'undrain' || !id || extra.length > 0)) {
    throw new AppError('bad_request', `usage:\n${NODES_USAGE}`);
  }
  const databaseUrl = flagOrEnv(flags, 'database-url', 'WARREN_DATABASE_URL');
  const dataDir = resolve(flagOrEnv(flags, 'data-dir', 'WARREN_DATA_DIR') ?? DEFAULTS.dataDir);
  if (!databaseUrl?.trim() && !existsSync(join(dataDir, DB_FILE_NAME))) {
    throw new AppError('not_found', `No Warren database at ${join(dataDir, DB_FILE_NAME)}`, { field: 'data_dir' });
  }
  const store = await openStoreUnmigrated({ dataDir, databaseUrl });
  try {
    await requireNodesSchema(store);
    const registry = new NodeRegistry({ store, settings: nodeRegistrySettings(process.env) });
    if (action === 'drain' || action === 'undrain') {
      const node = action === 'drain' ? await registry.drain(id!) : await registry.undrain(id!);
      out.write(flags.json === true ? `${JSON.stringify(node)}\n` : `node ${node.id}: ${node.state}\n`);
      return 0;
    }
    const nodes = await registry.list();
    if (flags.json === true) out.write(`${JSON.stringify(nodes, null, 2)}\n`);
    else if (nodes.length === 0) out.write('No nodes registered (a single-process `warren serve` runs its workspaces on its own host).\n');
    else out.write(nodesTable(nodes));
    return 0;
  } finally {
    await store.close();
  }
}
