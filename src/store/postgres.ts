/**
 * The PostgreSQL Store (issue 16): the Store contract of store.ts on node-postgres, so
 * Warren's records can live outside one host's data dir. Same semantics as SqliteStore,
 * proved by the same contract suite (src/store/postgres.test.ts).
 *
 * - Rows are the SQLite store's rows (same columns, JSON as text, flags 0/1; see
 *   postgres-schema.ts), mapped by the same functions.
 * - Multi-row writes run in one transaction (insertWorkspaces, recordUsage, prunes,
 *   namespace default switch); `updateWorkspace` is one conditional UPDATE (optimistic
 *   concurrency on `version`).
 * - Every failure goes through translatePgError (postgres-errors.ts): conflicts name the
 *   API field, lost connections and serialization failures are service_unavailable, and
 *   no PostgreSQL text or SQL reaches a client.
 * - `open()` proves the database is reachable before anything else (a clear start-up
 *   error otherwise, postgres-db.ts); `migrate()` applies postgres-migrations.ts.
 */
import type pg from 'pg';
import { AppError } from '../contract/errors.js';
import { createPool, describeTarget, inTransaction, startupError, type PgTarget } from './postgres-db.js';
import { pgGuard } from './postgres-errors.js';
import { PG_MIGRATIONS, pgAppliedVersions, runPgMigrations } from './postgres-migrations.js';
import { PgAccessTables } from './postgres-access.js';
import { PgLayerTables } from './postgres-layers.js';
import { PgUsageTables } from './postgres-usage.js';
import { PgNamespaceTables } from './postgres-namespaces.js';
import { PgNodeTables } from './postgres-nodes.js';
import type { NodeAllocation, NodeCapacity, NodeRecord, NodeRegistration, NodeState } from './node-records.js';
import { ParsedPolicies } from './sqlite-network-policies.js';
import { checkPage, COLUMNS, FILTER_COLUMNS, recordToRow, rowToRecord, type WorkspaceRow } from './sqlite-workspace-rows.js';
import type { SchemaVersions } from './sqlite.js';
import type { SshRecord } from './ssh-records.js';
import type { DefaultQuotaRecord, NamespaceQuotaRecord } from './quota-records.js';
import type { NamespaceActivityRecord, NamespaceRecord } from './namespace-records.js';
import type {
  AccessTokenRecord, ActivityFilter, ActivityRecord, ApiKeyRecord, ArchiveRecord, NetworkPolicyRow, Page, PublicPortRecord,
  ReservationRow, SnapshotFilter, SnapshotRecord, Store, UsageCursor, UsageRange, UsageRow, UsageTier, UsageTotalsRow,
  UsageTrackingRecord, WorkspaceFilter, WorkspaceRecord,
} from './store.js';

const INSERT_WORKSPACE = `INSERT INTO workspaces (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map((_, i) => `$${i + 1}`).join(', ')})`;
const UPDATED_COLUMNS = COLUMNS.filter((c) => c !== 'id' && c !== 'version');
/** $1 = id, $2 = expected version or NULL, then the updated columns in order. */
const UPDATE_WORKSPACE = `UPDATE workspaces SET ${UPDATED_COLUMNS.map((c, i) => `${c} = $${i + 3}`).join(', ')},
  version = version + 1 WHERE id = $1 AND ($2::integer IS NULL OR version = $2::integer) RETURNING *`;

const rowValues = (rec: WorkspaceRecord, columns: ReadonlyArray<keyof WorkspaceRow>, row = recordToRow(rec)) => columns.map((c) => row[c]);

export class PostgresStore implements Store {
  readonly target: PgTarget;
  private readonly pool: pg.Pool;
  private readonly access: PgAccessTables;
  private readonly layers: PgLayerTables;
  private readonly usage: PgUsageTables;
  private readonly namespaces: PgNamespaceTables;
  private readonly nodes: PgNodeTables;
  private readonly policies = new ParsedPolicies();
  private closed = false;

  /** Does not connect; see open(). Throws (without echoing the URL) when it does not parse. */
  constructor(url: string) {
    this.target = describeTarget(url);
    this.pool = createPool(url);
    this.access = new PgAccessTables(this.pool);
    this.layers = new PgLayerTables(this.pool);
    this.usage = new PgUsageTables(this.pool);
    this.namespaces = new PgNamespaceTables(this.pool);
    this.nodes = new PgNodeTables(this.pool);
  }

  /** Connects once: a clear one-line error (target and what failed, no password) when the database is unusable. */
  async open(): Promise<void> {
    try {
      await this.pool.query('SELECT 1');
    } catch (err) {
      throw startupError(this.target, err);
    }
  }

  async migrate(): Promise<void> {
    await pgGuard(() => runPgMigrations(this.pool));
  }

  /** Applied and known schema versions, without changing anything (`warren migrate --check`). */
  async schemaVersions(): Promise<SchemaVersions> {
    const applied = await pgGuard(() => pgAppliedVersions(this.pool));
    return { applied, known: PG_MIGRATIONS.map((m) => m.version) };
  }

  /** Applies pending migrations; returns the versions applied. */
  async applyMigrations(): Promise<number[]> {
    return pgGuard(() => runPgMigrations(this.pool));
  }

  /** Idempotent; waits for checked-out connections to come back. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }

  async insertWorkspace(rec: WorkspaceRecord): Promise<void> {
    await pgGuard(() => this.pool.query(INSERT_WORKSPACE, rowValues(rec, COLUMNS)));
  }

  async insertWorkspaces(recs: WorkspaceRecord[]): Promise<void> {
    await pgGuard(() => inTransaction(this.pool, async (c) => {
      for (const rec of recs) await c.query(INSERT_WORKSPACE, rowValues(rec, COLUMNS));
    }));
  }

  async getWorkspace(id: string): Promise<WorkspaceRecord | null> {
    return this.selectOne('id', id);
  }

  async findWorkspace(idOrSlug: string): Promise<WorkspaceRecord | null> {
    return (await this.selectOne('id', idOrSlug)) ?? this.selectOne('slug', idOrSlug);
  }

  async findWorkspaceByIdempotencyKey(key: string): Promise<WorkspaceRecord | null> {
    return this.selectOne('idempotency_key', key);
  }

  async findWorkspaceByTokenHash(hash: string): Promise<WorkspaceRecord | null> {
    return this.selectOne('token_hash', hash);
  }

  async listWorkspaces(filter: WorkspaceFilter, page: Page): Promise<{ items: WorkspaceRecord[]; total: number }> {
    checkPage(page);
    const keys = (Object.keys(FILTER_COLUMNS) as Array<keyof typeof FILTER_COLUMNS>).filter((k) => filter[k] !== undefined);
    const params: Array<string | number> = keys.map((k) => filter[k]!);
    const where = keys.length === 0 ? '' : 'WHERE ' + keys.map((k, i) => `${FILTER_COLUMNS[k]} = $${i + 1}`).join(' AND ');
    const n = params.length;
    // One snapshot (REPEATABLE READ) so that `total` and `items` describe the same state.
    return pgGuard(() => inTransaction(this.pool, async (c) => {
      const rows = await c.query<WorkspaceRow>(`SELECT * FROM workspaces ${where} ORDER BY created_at DESC, id
        LIMIT $${n + 1} OFFSET $${n + 2}`, [...params, page.limit, (page.page - 1) * page.limit]);
      const total = await c.query<{ n: number }>(`SELECT COUNT(*) AS n FROM workspaces ${where}`, params);
      return { items: rows.rows.map(rowToRecord), total: total.rows[0]!.n };
    }, 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY'));
  }

  /** Unchanged policies come back as the same frozen objects (sqlite-network-policies.ts). */
  async allNetworkPolicies(): Promise<NetworkPolicyRow[]> {
    const res = await pgGuard(() => this.pool.query<{ id: string; ip: string; network: string }>('SELECT id, ip, network FROM workspaces'));
    return this.policies.read(res.rows);
  }

  async allReservations(): Promise<ReservationRow[]> {
    type Row = Omit<ReservationRow, 'config'> & ReservationRow['config'];
    // ->: the JSON value (node-postgres parses jsonb), NULL when absent, as SQLite's json_extract.
    const res = await pgGuard(() => this.pool.query<Row>(`SELECT id, slug, namespace, state, ip,
      config::jsonb -> 'cpus' AS cpus, config::jsonb -> 'memory_mb' AS memory_mb, config::jsonb -> 'disk_size_mb' AS disk_size_mb
      FROM workspaces ORDER BY created_at, id`));
    return res.rows.map(({ cpus, memory_mb, disk_size_mb, ...r }) => ({ ...r, config: { cpus, memory_mb, disk_size_mb } }));
  }

  async allWorkspaces(): Promise<WorkspaceRecord[]> {
    const res = await pgGuard(() => this.pool.query<WorkspaceRow>('SELECT * FROM workspaces ORDER BY created_at, id'));
    return res.rows.map(rowToRecord);
  }

  async updateWorkspace(rec: WorkspaceRecord, expectedVersion?: number): Promise<WorkspaceRecord> {
    const row = { ...recordToRow(rec), updated_at: new Date().toISOString() };
    const res = await pgGuard(() => this.pool.query<WorkspaceRow>(UPDATE_WORKSPACE,
      [rec.id, expectedVersion ?? null, ...rowValues(rec, UPDATED_COLUMNS, row)]));
    if (res.rows[0]) return rowToRecord(res.rows[0]);
    if ((await this.selectOne('id', rec.id)) === null) throw new AppError('not_found', 'Workspace not found', { field: 'id' });
    throw new AppError('conflict', 'Workspace was modified concurrently', { field: 'version' });
  }

  /** Deleting a missing workspace is not an error (deletes are retried after crashes). */
  async deleteWorkspace(id: string): Promise<void> {
    await pgGuard(() => this.pool.query('DELETE FROM workspaces WHERE id = $1', [id]));
  }

  /** `column` is always one of the literals above, never input. */
  private async selectOne(column: 'id' | 'slug' | 'idempotency_key' | 'token_hash', value: string): Promise<WorkspaceRecord | null> {
    const res = await pgGuard(() => this.pool.query<WorkspaceRow>(`SELECT * FROM workspaces WHERE ${column} = $1`, [value]));
    return res.rows[0] ? rowToRecord(res.rows[0]) : null;
  }

  // Keys, tokens, settings and exposures (postgres-access.ts).
  async putApiKey(key: ApiKeyRecord): Promise<void> { await pgGuard(() => this.access.putKey(key)); }
  async getApiKey(clientId: string): Promise<ApiKeyRecord | null> { return pgGuard(() => this.access.getKey(clientId)); }
  async countApiKeys(): Promise<number> { return pgGuard(() => this.access.countKeys()); }
  async allApiKeys(): Promise<ApiKeyRecord[]> { return pgGuard(() => this.access.allKeys()); }
  async deleteApiKey(clientId: string): Promise<boolean> { return pgGuard(() => this.access.deleteKey(clientId)); }
  async putAccessToken(t: AccessTokenRecord): Promise<void> { await pgGuard(() => this.access.putToken(t)); }
  async liveAccessTokens(now: string): Promise<AccessTokenRecord[]> { return pgGuard(() => this.access.liveTokens(now)); }
  async revokeAccessToken(id: string, at: string): Promise<boolean> { return pgGuard(() => this.access.revokeToken(id, at)); }
  async pruneAccessTokens(before: string): Promise<number> { return pgGuard(() => this.access.pruneTokens(before)); }
  async getSetting(key: string): Promise<string | null> { return pgGuard(() => this.access.getSetting(key)); }
  async setSetting(key: string, value: string): Promise<void> { await pgGuard(() => this.access.setSetting(key, value)); }
  async setSettingIfAbsent(key: string, value: string): Promise<string> { return pgGuard(() => this.access.setSettingIfAbsent(key, value)); }
  async putPublicPort(rec: PublicPortRecord): Promise<void> { await pgGuard(() => this.access.putPort(rec)); }
  async listPublicPorts(workspaceId: string): Promise<PublicPortRecord[]> { return pgGuard(() => this.access.listPorts(workspaceId)); }
  async allPublicPorts(): Promise<PublicPortRecord[]> { return pgGuard(() => this.access.allPorts()); }
  async findPublicPortBySlug(slug: string): Promise<PublicPortRecord | null> { return pgGuard(() => this.access.portBySlug(slug)); }
  async deletePublicPort(workspaceId: string, port: number): Promise<boolean> {
    return pgGuard(() => this.access.deletePort(workspaceId, port));
  }

  // Snapshots and archives (postgres-layers.ts).
  async putSnapshot(rec: SnapshotRecord): Promise<void> { await pgGuard(() => this.layers.putSnapshot(rec)); }
  async getSnapshot(id: string): Promise<SnapshotRecord | null> { return pgGuard(() => this.layers.getSnapshot(id)); }
  async listSnapshots(filter: SnapshotFilter): Promise<SnapshotRecord[]> { return pgGuard(() => this.layers.listSnapshots(filter)); }
  async deleteSnapshot(id: string): Promise<void> { await pgGuard(() => this.layers.deleteSnapshot(id)); }
  async putArchive(rec: ArchiveRecord): Promise<void> { await pgGuard(() => this.layers.putArchive(rec)); }
  async getArchive(workspaceId: string, version: string): Promise<ArchiveRecord | null> {
    return pgGuard(() => this.layers.getArchive(workspaceId, version));
  }
  async listArchives(workspaceId: string): Promise<ArchiveRecord[]> { return pgGuard(() => this.layers.listArchives(workspaceId)); }
  async allArchives(): Promise<ArchiveRecord[]> { return pgGuard(() => this.layers.allArchives()); }
  async deleteArchive(workspaceId: string, version: string): Promise<boolean> {
    return pgGuard(() => this.layers.deleteArchive(workspaceId, version));
  }

  // Usage and activity (postgres-usage.ts).
  async recordUsage(rows: UsageRow[], cursors: Array<{ workspace_id: string; cursor: UsageCursor }>): Promise<void> {
    await pgGuard(() => this.usage.record(rows, cursors));
  }
  async listUsage(range: UsageRange, tier: UsageTier): Promise<UsageRow[]> { return pgGuard(() => this.usage.list(range, tier)); }
  async usageTotals(range: UsageRange): Promise<UsageTotalsRow[]> { return pgGuard(() => this.usage.totals(range)); }
  async deleteUsage(workspaceId: string): Promise<number> { return pgGuard(() => this.usage.delete(workspaceId)); }
  async listUsageTracking(): Promise<UsageTrackingRecord[]> { return pgGuard(() => this.usage.trackingAll()); }
  async getUsageTracking(id: string): Promise<UsageTrackingRecord | null> { return pgGuard(() => this.usage.tracking(id)); }
  async setUsageTracking(id: string, enabled: boolean, at: string): Promise<UsageTrackingRecord> {
    return pgGuard(() => this.usage.setTracking(id, enabled, at));
  }
  async pruneUsage(olderThan: string): Promise<number> { return pgGuard(() => this.usage.prune(olderThan)); }
  async addActivity(entry: Omit<ActivityRecord, 'id'>): Promise<ActivityRecord> { return pgGuard(() => this.usage.addActivity(entry)); }
  async listActivity(filter: ActivityFilter): Promise<ActivityRecord[]> { return pgGuard(() => this.usage.listActivity(filter)); }
  async pruneActivity(olderThan: string, max: number): Promise<number> { return pgGuard(() => this.usage.pruneActivity(olderThan, max)); }

  // Namespaces, quotas and SSH access (postgres-namespaces.ts).
  async putNamespace(rec: NamespaceRecord): Promise<void> { await pgGuard(() => this.namespaces.put(rec)); }
  async findNamespace(idOrSlug: string): Promise<NamespaceRecord | null> { return pgGuard(() => this.namespaces.find(idOrSlug)); }
  async allNamespaces(): Promise<NamespaceRecord[]> { return pgGuard(() => this.namespaces.all()); }
  async deleteNamespace(id: string): Promise<boolean> { return pgGuard(() => this.namespaces.delete(id)); }
  async addNamespaceActivity(e: Omit<NamespaceActivityRecord, 'id'>): Promise<NamespaceActivityRecord> {
    return pgGuard(() => this.namespaces.addActivity(e));
  }
  async listNamespaceActivity(id: string, limit: number, offset: number): Promise<NamespaceActivityRecord[]> {
    return pgGuard(() => this.namespaces.listActivity(id, limit, offset));
  }
  async putNamespaceQuota(q: NamespaceQuotaRecord): Promise<void> { await pgGuard(() => this.namespaces.putQuota(q)); }
  async getNamespaceQuota(ns: string, service: string): Promise<NamespaceQuotaRecord | null> {
    return pgGuard(() => this.namespaces.getQuota(ns, service));
  }
  async listNamespaceQuotas(ns?: string): Promise<NamespaceQuotaRecord[]> { return pgGuard(() => this.namespaces.listQuotas(ns)); }
  async deleteNamespaceQuotas(ns: string): Promise<number> { return pgGuard(() => this.namespaces.deleteQuotas(ns)); }
  async putDefaultQuota(d: DefaultQuotaRecord): Promise<void> { await pgGuard(() => this.namespaces.putDefault(d)); }
  async getDefaultQuota(level: string, service: string): Promise<DefaultQuotaRecord | null> {
    return pgGuard(() => this.namespaces.getDefault(level, service));
  }
  async listDefaultQuotas(level: string): Promise<DefaultQuotaRecord[]> { return pgGuard(() => this.namespaces.listDefaults(level)); }
  async deleteDefaultQuota(level: string, service: string): Promise<boolean> {
    return pgGuard(() => this.namespaces.deleteDefault(level, service));
  }
  async getSsh(workspaceId: string): Promise<SshRecord | null> { return pgGuard(() => this.namespaces.getSsh(workspaceId)); }
  async findSshById(sshId: string): Promise<SshRecord | null> { return pgGuard(() => this.namespaces.sshById(sshId)); }
  async putSsh(rec: SshRecord): Promise<void> { await pgGuard(() => this.namespaces.putSsh(rec)); }

  // The node registry (postgres-nodes.ts).
  async registerNode(reg: NodeRegistration, at: string): Promise<NodeRecord> { return pgGuard(() => this.nodes.register(reg, at)); }
  async heartbeatNode(id: string, at: string, capacity?: NodeCapacity): Promise<NodeRecord | null> {
    return pgGuard(() => this.nodes.heartbeat(id, at, capacity));
  }
  async getNode(id: string): Promise<NodeRecord | null> { return pgGuard(() => this.nodes.get(id)); }
  async listNodes(): Promise<NodeRecord[]> { return pgGuard(() => this.nodes.list()); }
  async setNodeState(id: string, state: NodeState, onlyFrom?: readonly NodeState[]): Promise<NodeRecord | null> {
    return pgGuard(() => this.nodes.setState(id, state, onlyFrom));
  }
  async markNodesLost(before: string): Promise<string[]> { return pgGuard(() => this.nodes.markLost(before)); }
  async nodeAllocations(): Promise<NodeAllocation[]> { return pgGuard(() => this.nodes.allocations()); }
}
