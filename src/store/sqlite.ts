/**
 * The embedded Store: one SQLite file, `<dataDir>/warren.db`, on better-sqlite3.
 *
 * Durability: WAL with synchronous=FULL, so every committed write is fsynced to the WAL
 * before the method's promise resolves; a kill -9 (or power cut) afterwards loses nothing.
 * The file is created 0600 (it holds raw agent tokens and key hashes); SQLite gives its
 * -wal/-shm companions the same mode.
 *
 * The driver is synchronous; methods are `async` only to satisfy the Store contract, so
 * every failure surfaces as a rejected promise, translated by sqlite-errors.ts (unique
 * violations → `conflict` with the API field, a lock past busy_timeout → `service_unavailable`).
 *
 * Layout: queried/unique fields are real columns, nested structures are JSON text;
 * JSON.stringify/parse round-trips the records exactly (they are plain JSON data).
 */
import Database from 'better-sqlite3';
import { closeSync, constants as fsConstants, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { AppError } from '../contract/errors.js';
import { appliedVersions, MIGRATIONS, runMigrations } from './migrations.js';
import { guarded } from './sqlite-errors.js';
import { PublicPortTable } from './sqlite-public-ports.js';
import { ArchiveTable, SnapshotTable } from './sqlite-layers.js';
import { ActivityTable, UsageTables } from './sqlite-usage.js';
import { AccessTables } from './sqlite-access.js';
import { NamespaceTables } from './sqlite-namespaces.js';
import { QuotaTables } from './sqlite-quotas.js';
import { SshTable } from './sqlite-ssh.js';
import { NodeTables } from './sqlite-nodes.js';
import type { NodeAllocation, NodeCapacity, NodeRecord, NodeRegistration, NodeState } from './node-records.js';
import { ParsedPolicies } from './sqlite-network-policies.js';
import type { SshRecord } from './ssh-records.js';
import type { DefaultQuotaRecord, NamespaceQuotaRecord } from './quota-records.js';
import type { NamespaceActivityRecord, NamespaceRecord } from './namespace-records.js';
import { checkPage, COLUMNS, FILTER_COLUMNS, recordToRow, rowToRecord, type WorkspaceRow } from './sqlite-workspace-rows.js';
import type {
  ActivityFilter,
  ActivityRecord,
  AccessTokenRecord,
  ApiKeyRecord,
  ArchiveRecord,
  SnapshotFilter,
  SnapshotRecord,
  NetworkPolicyRow,
  ReservationRow,
  Page,
  PublicPortRecord,
  Store,
  WorkspaceFilter,
  WorkspaceRecord,
  UsageCursor,
  UsageRange,
  UsageRow,
  UsageTier,
  UsageTotalsRow,
  UsageTrackingRecord,
} from './store.js';

export const DB_FILE_NAME = 'warren.db';

/** The schema versions a database carries and the ones this build knows (`warren migrate`). */
export interface SchemaVersions {
  applied: number[];
  known: number[];
}

/** Creates the database file 0600 if it does not exist yet (SQLite would use 0644). */
function createPrivateFile(path: string): void {
  try {
    const fd = openSync(path, fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_WRONLY, 0o600);
    closeSync(fd);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
}

export class SqliteStore implements Store {
  /** Absolute path of the database file. */
  readonly path: string;
  private readonly db: Database.Database;
  private readonly publicPorts: PublicPortTable;
  private readonly snapshots: SnapshotTable;
  private readonly archives: ArchiveTable;
  private readonly usage: UsageTables;
  private readonly namespaces: NamespaceTables;
  private readonly access: AccessTables;
  private readonly quotas: QuotaTables;
  private readonly activity: ActivityTable;
  private readonly statements = new Map<string, Database.Statement>();
  private readonly listStatements = new Map<string, { page: Database.Statement; count: Database.Statement }>();
  private readonly policies = new ParsedPolicies();

  constructor(dataDir: string) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    this.path = join(dataDir, DB_FILE_NAME);
    createPrivateFile(this.path);
    this.db = new Database(this.path, { timeout: 5000 });
    try {
      const mode = this.db.pragma('journal_mode = WAL', { simple: true });
      if (mode !== 'wal') throw new Error(`SQLite refused WAL mode (got ${String(mode)})`);
      this.db.pragma('synchronous = FULL');
      this.db.pragma('foreign_keys = ON');
      this.db.pragma('busy_timeout = 5000');
    } catch (err) {
      this.db.close();
      throw err;
    }
    this.publicPorts = new PublicPortTable(this.db);
    this.snapshots = new SnapshotTable(this.db);
    this.archives = new ArchiveTable(this.db);
    this.usage = new UsageTables(this.db);
    this.namespaces = new NamespaceTables(this.db);
    this.access = new AccessTables(this.db);
    this.quotas = new QuotaTables(this.db);
    this.activity = new ActivityTable(this.db);
  }

  async migrate(): Promise<void> {
    guarded(() => runMigrations(this.db));
  }

  /** Applied and known schema versions, without applying anything (`warren migrate --check`). */
  async schemaVersions(): Promise<SchemaVersions> {
    return { applied: guarded(() => appliedVersions(this.db)), known: MIGRATIONS.map((m) => m.version) };
  }

  /** Applies pending migrations; returns the versions applied. */
  async applyMigrations(): Promise<number[]> {
    return guarded(() => runMigrations(this.db));
  }

  /** Idempotent; checkpoints the WAL into the main file. */
  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  async insertWorkspace(rec: WorkspaceRecord): Promise<void> {
    const sql = `INSERT INTO workspaces (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map((c) => '@' + c).join(', ')})`;
    guarded(() => this.statement(sql).run(recordToRow(rec)));
  }

  async insertWorkspaces(recs: WorkspaceRecord[]): Promise<void> {
    const stmt = this.statement(`INSERT INTO workspaces (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map((c) => '@' + c).join(', ')})`);
    guarded(() => this.db.transaction(() => { for (const rec of recs) stmt.run(recordToRow(rec)); }).immediate());
  }

  async getWorkspace(id: string): Promise<WorkspaceRecord | null> {
    return this.selectOne('id', id);
  }

  async findWorkspace(idOrSlug: string): Promise<WorkspaceRecord | null> {
    return this.selectOne('id', idOrSlug) ?? this.selectOne('slug', idOrSlug);
  }

  async findWorkspaceByIdempotencyKey(key: string): Promise<WorkspaceRecord | null> {
    return this.selectOne('idempotency_key', key);
  }

  async findWorkspaceByTokenHash(hash: string): Promise<WorkspaceRecord | null> {
    return this.selectOne('token_hash', hash);
  }

  async listWorkspaces(filter: WorkspaceFilter, page: Page): Promise<{ items: WorkspaceRecord[]; total: number }> {
    checkPage(page);
    const keys = (Object.keys(FILTER_COLUMNS) as Array<keyof typeof FILTER_COLUMNS>).filter(
      (k) => filter[k] !== undefined,
    );
    const params = keys.map((k) => filter[k]!);
    const stmts = this.listStatementsFor(keys);
    // One read transaction so that `total` and `items` describe the same snapshot.
    return guarded(() =>
      this.db.transaction(() => {
        const rows = stmts.page.all(...params, page.limit, (page.page - 1) * page.limit) as WorkspaceRow[];
        const total = stmts.count.get(...params) as number;
        return { items: rows.map(rowToRecord), total };
      })(),
    );
  }

  /** Unchanged policies come back as the same frozen objects (sqlite-network-policies.ts). */
  async allNetworkPolicies(): Promise<NetworkPolicyRow[]> {
    const rows = guarded(() => this.statement('SELECT id, ip, network FROM workspaces').all()) as
      Array<{ id: string; ip: string; network: string }>;
    return this.policies.read(rows);
  }

  async allReservations(): Promise<ReservationRow[]> {
    const rows = guarded(() => this.statement(`SELECT id, slug, namespace, state, ip, json_extract(config, '$.cpus') AS cpus,
      json_extract(config, '$.memory_mb') AS memory_mb, json_extract(config, '$.disk_size_mb') AS disk_size_mb
      FROM workspaces ORDER BY created_at, id`).all()) as Array<Omit<ReservationRow, 'config'> & ReservationRow['config']>;
    return rows.map(({ cpus, memory_mb, disk_size_mb, ...r }) => ({ ...r, config: { cpus, memory_mb, disk_size_mb } }));
  }

  async allWorkspaces(): Promise<WorkspaceRecord[]> {
    const rows = guarded(() => this.statement('SELECT * FROM workspaces ORDER BY created_at, id').all()) as WorkspaceRow[];
    return rows.map(rowToRecord);
  }

  async updateWorkspace(rec: WorkspaceRecord, expectedVersion?: number): Promise<WorkspaceRecord> {
    const assignments = COLUMNS.filter((c) => c !== 'id' && c !== 'version').map((c) => `${c} = @${c}`);
    const sql = `UPDATE workspaces SET ${assignments.join(', ')}, version = version + 1
                 WHERE id = @id AND (@expected IS NULL OR version = @expected)`;
    const row = { ...recordToRow(rec), updated_at: new Date().toISOString(), expected: expectedVersion ?? null };
    return guarded(() =>
      this.db.transaction(() => {
        const changed = this.statement(sql).run(row).changes;
        const stored = this.selectOne('id', rec.id);
        if (stored === null) throw new AppError('not_found', 'Workspace not found', { field: 'id' });
        if (changed === 0) {
          throw new AppError('conflict', 'Workspace was modified concurrently', { field: 'version' });
        }
        return stored;
      }).immediate(),
    );
  }

  /** Deleting a missing workspace is not an error (deletes are retried after crashes). */
  async deleteWorkspace(id: string): Promise<void> {
    guarded(() => this.statement('DELETE FROM workspaces WHERE id = ?').run(id));
  }

  async putApiKey(key: ApiKeyRecord): Promise<void> { guarded(() => this.access.putKey(key)); }
  async getApiKey(clientId: string): Promise<ApiKeyRecord | null> { return guarded(() => this.access.getKey(clientId)); }
  async countApiKeys(): Promise<number> { return guarded(() => this.access.countKeys()); }
  async allApiKeys(): Promise<ApiKeyRecord[]> { return guarded(() => this.access.allKeys()); }
  async deleteApiKey(clientId: string): Promise<boolean> { return guarded(() => this.access.deleteKey(clientId)); }
  async putAccessToken(t: AccessTokenRecord): Promise<void> { guarded(() => this.access.putToken(t)); }
  async liveAccessTokens(now: string): Promise<AccessTokenRecord[]> { return guarded(() => this.access.liveTokens(now)); }
  async revokeAccessToken(id: string, at: string): Promise<boolean> { return guarded(() => this.access.revokeToken(id, at)); }
  async pruneAccessTokens(before: string): Promise<number> { return guarded(() => this.access.pruneTokens(before)); }

  async putPublicPort(rec: PublicPortRecord): Promise<void> {
    guarded(() => this.publicPorts.put(rec));
  }

  async listPublicPorts(workspaceId: string): Promise<PublicPortRecord[]> {
    return guarded(() => this.publicPorts.list(workspaceId));
  }

  async allPublicPorts(): Promise<PublicPortRecord[]> {
    return guarded(() => this.publicPorts.all());
  }

  async findPublicPortBySlug(slug: string): Promise<PublicPortRecord | null> {
    return guarded(() => this.publicPorts.bySlug(slug));
  }

  async deletePublicPort(workspaceId: string, port: number): Promise<boolean> {
    return guarded(() => this.publicPorts.delete(workspaceId, port));
  }

  async putSnapshot(rec: SnapshotRecord): Promise<void> {
    guarded(() => this.snapshots.put(rec));
  }

  async getSnapshot(id: string): Promise<SnapshotRecord | null> {
    return guarded(() => this.snapshots.get(id));
  }

  async listSnapshots(filter: SnapshotFilter): Promise<SnapshotRecord[]> {
    return guarded(() => this.snapshots.list(filter));
  }

  async deleteSnapshot(id: string): Promise<void> {
    guarded(() => this.snapshots.delete(id));
  }

  async putArchive(rec: ArchiveRecord): Promise<void> {
    guarded(() => this.archives.put(rec));
  }

  async getArchive(workspaceId: string, version: string): Promise<ArchiveRecord | null> {
    return guarded(() => this.archives.get(workspaceId, version));
  }

  async listArchives(workspaceId: string): Promise<ArchiveRecord[]> {
    return guarded(() => this.archives.list(workspaceId));
  }

  async allArchives(): Promise<ArchiveRecord[]> {
    return guarded(() => this.archives.all());
  }

  async deleteArchive(workspaceId: string, version: string): Promise<boolean> {
    return guarded(() => this.archives.delete(workspaceId, version));
  }

  async getSetting(key: string): Promise<string | null> {
    const value = guarded(() => this.statement('SELECT value FROM settings WHERE key = ?').pluck().get(key));
    return value === undefined ? null : (value as string);
  }

  async setSetting(key: string, value: string): Promise<void> {
    const sql = 'INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value';
    guarded(() => this.statement(sql).run(key, value));
  }
  async setSettingIfAbsent(key: string, value: string): Promise<string> {
    guarded(() => this.statement('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING').run(key, value));
    return (await this.getSetting(key))!;
  }


  // Usage and activity (sqlite-usage.ts).
  async recordUsage(rows: UsageRow[], cursors: Array<{ workspace_id: string; cursor: UsageCursor }>): Promise<void> {
    guarded(() => this.usage.record(rows, cursors));
  }
  async listUsage(range: UsageRange, tier: UsageTier): Promise<UsageRow[]> { return guarded(() => this.usage.list(range, tier)); }
  async usageTotals(range: UsageRange): Promise<UsageTotalsRow[]> { return guarded(() => this.usage.totals(range)); }
  async deleteUsage(workspaceId: string): Promise<number> { return guarded(() => this.usage.delete(workspaceId)); }
  async listUsageTracking(): Promise<UsageTrackingRecord[]> { return guarded(() => this.usage.trackingAll()); }
  async getUsageTracking(id: string): Promise<UsageTrackingRecord | null> { return guarded(() => this.usage.tracking(id)); }
  async setUsageTracking(id: string, enabled: boolean, at: string): Promise<UsageTrackingRecord> {
    return guarded(() => this.usage.setTracking(id, enabled, at));
  }
  async pruneUsage(olderThan: string): Promise<number> { return guarded(() => this.usage.prune(olderThan)); }
  async addActivity(entry: Omit<ActivityRecord, 'id'>): Promise<ActivityRecord> { return guarded(() => this.activity.add(entry)); }
  async listActivity(filter: ActivityFilter): Promise<ActivityRecord[]> { return guarded(() => this.activity.list(filter)); }
  async pruneActivity(olderThan: string, max: number): Promise<number> { return guarded(() => this.activity.prune(olderThan, max)); }

  /**
   * The prepared statement of `sql`, compiled once per store: the per-request reads
   * (getWorkspace on every gateway call and sweep check) no longer compile SQL each time.
   */
  private statement(sql: string): Database.Statement {
    let stmt = this.statements.get(sql);
    if (stmt === undefined) this.statements.set(sql, (stmt = this.db.prepare(sql)));
    return stmt;
  }

  /** `column` is always one of the literals above, never input. */
  private selectOne(column: 'id' | 'slug' | 'idempotency_key' | 'token_hash', value: string): WorkspaceRecord | null {
    const row = guarded(() => this.statement(`SELECT * FROM workspaces WHERE ${column} = ?`).get(value)) as
      | WorkspaceRow
      | undefined;
    return row === undefined ? null : rowToRecord(row);
  }

  private listStatementsFor(keys: Array<keyof typeof FILTER_COLUMNS>) {
    const cacheKey = keys.join(',');
    let stmts = this.listStatements.get(cacheKey);
    if (stmts === undefined) {
      const where = keys.length === 0 ? '' : 'WHERE ' + keys.map((k) => `${FILTER_COLUMNS[k]} = ?`).join(' AND ');
      stmts = {
        page: this.db.prepare(`SELECT * FROM workspaces ${where} ORDER BY created_at DESC, id LIMIT ? OFFSET ?`),
        count: this.db.prepare(`SELECT COUNT(*) FROM workspaces ${where}`).pluck(),
      };
      this.listStatements.set(cacheKey, stmts);
    }
    return stmts;
  }

  // Namespaces (sqlite-namespaces.ts).
  async putNamespace(rec: NamespaceRecord): Promise<void> { guarded(() => this.namespaces.put(rec)); }
  async findNamespace(idOrSlug: string): Promise<NamespaceRecord | null> { return guarded(() => this.namespaces.find(idOrSlug)); }
  async allNamespaces(): Promise<NamespaceRecord[]> { return guarded(() => this.namespaces.all()); }
  async deleteNamespace(id: string): Promise<boolean> { return guarded(() => this.namespaces.delete(id)); }
  async addNamespaceActivity(e: Omit<NamespaceActivityRecord, 'id'>): Promise<NamespaceActivityRecord> {
    return guarded(() => this.namespaces.addActivity(e));
  }
  async listNamespaceActivity(id: string, limit: number, offset: number): Promise<NamespaceActivityRecord[]> {
    return guarded(() => this.namespaces.listActivity(id, limit, offset));
  }
  // Namespace quotas (sqlite-quotas.ts).
  async putNamespaceQuota(q: NamespaceQuotaRecord): Promise<void> { guarded(() => this.quotas.putQuota(q)); }
  async getNamespaceQuota(ns: string, service: string): Promise<NamespaceQuotaRecord | null> { return guarded(() => this.quotas.getQuota(ns, service)); }
  async listNamespaceQuotas(ns?: string): Promise<NamespaceQuotaRecord[]> { return guarded(() => this.quotas.listQuotas(ns)); }
  async deleteNamespaceQuotas(ns: string): Promise<number> { return guarded(() => this.quotas.deleteQuotas(ns)); }
  async putDefaultQuota(d: DefaultQuotaRecord): Promise<void> { guarded(() => this.quotas.putDefault(d)); }
  async getDefaultQuota(level: string, service: string): Promise<DefaultQuotaRecord | null> { return guarded(() => this.quotas.getDefault(level, service)); }
  async listDefaultQuotas(level: string): Promise<DefaultQuotaRecord[]> { return guarded(() => this.quotas.listDefaults(level)); }
  async deleteDefaultQuota(level: string, service: string): Promise<boolean> { return guarded(() => this.quotas.deleteDefault(level, service)); }

  // SSH access (sqlite-ssh.ts), made on first use.
  private sshTable?: SshTable;
  private get ssh(): SshTable { return (this.sshTable ??= new SshTable(this.db)); }
  async getSsh(workspaceId: string): Promise<SshRecord | null> { return guarded(() => this.ssh.get(workspaceId)); }
  async findSshById(sshId: string): Promise<SshRecord | null> { return guarded(() => this.ssh.bySshId(sshId)); }
  async putSsh(rec: SshRecord): Promise<void> { guarded(() => this.ssh.put(rec)); }

  // The node registry (sqlite-nodes.ts), made on first use.
  private nodeTables?: NodeTables;
  private get nodes(): NodeTables { return (this.nodeTables ??= new NodeTables(this.db)); }
  async registerNode(reg: NodeRegistration, at: string): Promise<NodeRecord> { return guarded(() => this.nodes.register(reg, at)); }
  async heartbeatNode(id: string, at: string, cap?: NodeCapacity): Promise<NodeRecord | null> { return guarded(() => this.nodes.heartbeat(id, at, cap)); }
  async getNode(id: string): Promise<NodeRecord | null> { return guarded(() => this.nodes.get(id)); }
  async listNodes(): Promise<NodeRecord[]> { return guarded(() => this.nodes.list()); }
  async setNodeState(id: string, state: NodeState, from?: readonly NodeState[]): Promise<NodeRecord | null> { return guarded(() => this.nodes.setState(id, state, from)); }
  async markNodesLost(before: string): Promise<string[]> { return guarded(() => this.nodes.markLost(before)); }
  async nodeAllocations(): Promise<NodeAllocation[]> { return guarded(() => this.nodes.allocations()); }
}
