/**
 * Versioned schema migrations for the embedded SQLite store.
 *
 * Contract:
 * - Applied versions are recorded in `schema_migrations`; running the list again is a no-op.
 * - Migrations run in ascending `version` order, each in its own IMMEDIATE transaction
 *   together with its bookkeeping row, so a failing migration leaves no trace and a
 *   second process racing on the same file waits (busy_timeout) and then skips it.
 * - Migrations are append-only: never edit a released one, add a new version instead.
 * - A database carrying a version this build does not know (written by a newer Warren)
 *   is refused rather than silently used with a schema we do not understand.
 */
import type Database from 'better-sqlite3';
import { AppError } from '../contract/errors.js';
import { sqliteTokenHashUp, TOKEN_HASH_MIGRATION } from './migration-token-hash.js';
import { NODE_SUBNET_MIGRATION, NODE_SUBNET_SQL } from './migration-node-subnet.js';

export interface Migration {
  version: number;
  name: string;
  up(db: Database.Database): void;
}

const INITIAL_SCHEMA = `
CREATE TABLE workspaces (
  id                  TEXT PRIMARY KEY NOT NULL,
  short_id            TEXT NOT NULL UNIQUE,
  name                TEXT NOT NULL,
  slug                TEXT UNIQUE,
  namespace           TEXT,
  mode                TEXT NOT NULL,
  image               TEXT NOT NULL,
  state               TEXT NOT NULL,
  pending             TEXT,            -- JSON PendingOperation or NULL
  user_requested_stop INTEGER NOT NULL DEFAULT 0,
  config              TEXT NOT NULL,   -- JSON WorkspaceConfig
  network             TEXT NOT NULL,   -- JSON NetworkPolicy
  ip                  TEXT NOT NULL UNIQUE,
  api_access          TEXT NOT NULL,   -- JSON ApiAccessState
  metadata            TEXT NOT NULL,   -- JSON Record<string, string>
  idempotency_key     TEXT UNIQUE,
  error               TEXT,            -- JSON {code, message} or NULL
  created_at          TEXT NOT NULL,   -- ISO-8601 UTC; sorts lexicographically
  updated_at          TEXT NOT NULL,
  started_at          TEXT,
  version             INTEGER NOT NULL
);
CREATE INDEX workspaces_created ON workspaces (created_at DESC, id);
CREATE INDEX workspaces_namespace ON workspaces (namespace, created_at DESC);
CREATE INDEX workspaces_state ON workspaces (state);
CREATE INDEX workspaces_mode ON workspaces (mode);

CREATE TABLE api_keys (
  client_id   TEXT PRIMARY KEY NOT NULL,
  secret_hash TEXT NOT NULL,
  scope       TEXT NOT NULL,
  created_at  TEXT NOT NULL
);

CREATE TABLE settings (
  key   TEXT PRIMARY KEY NOT NULL,
  value TEXT NOT NULL
);
`;

/** Exposed ports (public access). Rows go with their workspace (ON DELETE CASCADE). */
const PUBLIC_PORTS_SCHEMA = `
CREATE TABLE public_ports (
  workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
  port         INTEGER NOT NULL,
  slug         TEXT NOT NULL UNIQUE,
  label        TEXT NOT NULL,
  domain       TEXT,
  created_at   TEXT NOT NULL,
  PRIMARY KEY (workspace_id, port)
);
`;

/**
 * Snapshots and archives of writable layers (control-plane.md §10), and the lifecycle
 * bookkeeping of a workspace (restart policy counters, idle sleep) as JSON.
 */
const LAYERS_SCHEMA = `
ALTER TABLE workspaces ADD COLUMN lifecycle TEXT NOT NULL DEFAULT '{}';

CREATE TABLE snapshots (
  id            TEXT PRIMARY KEY NOT NULL,
  workspace_id  TEXT NOT NULL,
  short_id      TEXT NOT NULL,
  purpose       TEXT NOT NULL,      -- snapshot | fork | archive
  state         TEXT NOT NULL,      -- pending | ready
  bytes         INTEGER NOT NULL,
  copy_on_write INTEGER NOT NULL,
  frozen_ms     REAL NOT NULL,
  created_at    TEXT NOT NULL
);
CREATE INDEX snapshots_workspace ON snapshots (workspace_id, purpose, created_at);

CREATE TABLE archives (
  workspace_id     TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
  version          TEXT NOT NULL,
  state            TEXT NOT NULL,   -- writing | ready
  format           TEXT NOT NULL,   -- tar.zst | tar.gz
  kind             TEXT NOT NULL,   -- layer | files
  vm_paths         TEXT NOT NULL,   -- JSON string[]
  exclude_vm_paths TEXT NOT NULL,   -- JSON string[]
  size_bytes       INTEGER NOT NULL,
  sha256           TEXT,
  file             TEXT NOT NULL,
  created_at       TEXT NOT NULL,
  completed_at     TEXT,
  PRIMARY KEY (workspace_id, version)
);
`;

/**
 * Namespaces (control-plane.md §21). Workspaces name theirs by slug (workspaces.namespace),
 * so a namespace row is optional for a workspace: no foreign key. Activity is history and
 * outlives its namespace.
 */
const NAMESPACES_SCHEMA = `
CREATE TABLE namespaces (
  id              TEXT PRIMARY KEY NOT NULL,
  slug            TEXT NOT NULL UNIQUE,
  name            TEXT NOT NULL,
  description     TEXT,
  status          TEXT NOT NULL,
  type            TEXT NOT NULL,
  is_default      INTEGER NOT NULL DEFAULT 0,
  metadata        TEXT NOT NULL,     -- JSON object
  tags            TEXT NOT NULL,     -- JSON array
  resource_limits TEXT,              -- JSON object or NULL (inherit the plan)
  created_at      TEXT NOT NULL,
  updated_at      TEXT NOT NULL,
  last_active_at  TEXT
);

CREATE TABLE namespace_activity (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  namespace_id TEXT NOT NULL,
  action       TEXT NOT NULL,
  description  TEXT,
  changes      TEXT,                 -- JSON object or NULL
  created_at   TEXT NOT NULL
);
CREATE INDEX namespace_activity_ns ON namespace_activity (namespace_id, id);
`;

/**
 * Usage and activity (control-plane.md §13). No foreign keys: history outlives its
 * workspace. `usage_samples` holds one row per workspace and minute (amounts are added
 * as samples arrive); `usage_tracking` the per-workspace switch and the recorder's
 * last cumulative counters (`cursor`, JSON), so a restart of Warren counts on from them.
 */
const USAGE_SCHEMA = `
CREATE TABLE usage_samples (
  workspace_id      TEXT NOT NULL,
  bucket_start      TEXT NOT NULL,     -- ISO-8601 UTC minute
  cpu_seconds       REAL NOT NULL DEFAULT 0,
  memory_mb_seconds REAL NOT NULL DEFAULT 0,
  disk_mb_hours     REAL NOT NULL DEFAULT 0,
  rx_bytes          INTEGER NOT NULL DEFAULT 0,
  tx_bytes          INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (workspace_id, bucket_start)
);
CREATE INDEX usage_samples_bucket ON usage_samples (bucket_start);

CREATE TABLE usage_tracking (
  workspace_id TEXT PRIMARY KEY NOT NULL,
  enabled      INTEGER NOT NULL DEFAULT 1,
  changed_at   TEXT,                   -- last start/stop of tracking; NULL = never switched
  cursor       TEXT                    -- JSON UsageCursor or NULL
);

CREATE TABLE activity (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  workspace_id TEXT NOT NULL,
  type         TEXT NOT NULL,
  from_state   TEXT,
  to_state     TEXT,
  origin       TEXT NOT NULL,
  reason       TEXT,
  at           TEXT NOT NULL,
  details      TEXT NOT NULL           -- JSON object
);
CREATE INDEX activity_workspace ON activity (workspace_id, id);
CREATE INDEX activity_at ON activity (at);
`;

/**
 * Namespace quotas (control-plane.md §21 "Namespace quotas"): credits a namespace's
 * workspaces may spend per service, counted from `usage_since`; and the defaults given
 * to new namespaces. Removed with their namespace by the store, not by a foreign key.
 */
const QUOTAS_SCHEMA = `
CREATE TABLE namespace_quotas (
  namespace_id            TEXT NOT NULL,
  service                 TEXT NOT NULL,
  quota_limit             REAL NOT NULL,
  quota_used              REAL NOT NULL DEFAULT 0,
  overdraft               REAL NOT NULL DEFAULT 0,
  on_overdraft_action     TEXT NOT NULL,   -- block | stop_workspaces
  notification_thresholds TEXT,            -- JSON number[] or NULL (the defaults)
  last_threshold_fired    REAL,
  enabled                 INTEGER NOT NULL DEFAULT 1,
  usage_since             TEXT NOT NULL,   -- set or last reset: usage counts from here
  created_at              TEXT NOT NULL,
  updated_at              TEXT NOT NULL,
  PRIMARY KEY (namespace_id, service)
);

CREATE TABLE default_quotas (
  level               TEXT NOT NULL,
  service             TEXT NOT NULL,
  quota_limit         REAL NOT NULL,
  overdraft           REAL NOT NULL DEFAULT 0,
  on_overdraft_action TEXT NOT NULL,
  auto_apply          INTEGER NOT NULL DEFAULT 0,
  enabled             INTEGER NOT NULL DEFAULT 1,
  created_at          TEXT NOT NULL,
  updated_at          TEXT NOT NULL,
  PRIMARY KEY (level, service)
);
`;

/** Namespace- and billing-scoped API keys; the scoped JWTs of POST /tokens (for listing and revocation). */
const ACCESS_SCHEMA = `
ALTER TABLE api_keys ADD COLUMN namespace_id TEXT;
ALTER TABLE api_keys ADD COLUMN label TEXT;

CREATE TABLE access_tokens (
  id           TEXT PRIMARY KEY NOT NULL,   -- the token's jti
  scope        TEXT NOT NULL,               -- namespace | workspace
  namespace_id TEXT,
  workspace_id TEXT,
  label        TEXT,
  issued_by    TEXT NOT NULL,
  created_at   TEXT NOT NULL,
  expires_at   TEXT NOT NULL,
  revoked_at   TEXT
);
CREATE INDEX access_tokens_expiry ON access_tokens (expires_at);
`;

/** SSH access per workspace (control-plane.md §7; records in ssh-records.ts). */
const SSH_SCHEMA = `
CREATE TABLE workspace_ssh (
  workspace_id     TEXT PRIMARY KEY NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  ssh_id           TEXT NOT NULL UNIQUE,   -- the jump host's name for the workspace
  password_hash    TEXT,                   -- sha512-crypt of root's SSH password, NULL: none
  password_changed INTEGER NOT NULL DEFAULT 0,
  key_only         INTEGER NOT NULL DEFAULT 0,
  authorized_keys  TEXT NOT NULL,          -- JSON array of OpenSSH public key lines
  host_key         TEXT NOT NULL,          -- the workspace sshd's ed25519 host key (OpenSSH format)
  host_key_public  TEXT NOT NULL,
  created_at       TEXT NOT NULL,
  updated_at       TEXT NOT NULL
);
`;

/**
 * The stored image a workspace is layered on (src/images/layer-store.ts), so that giving
 * its name to another image never changes the layers under an existing workspace.
 */
const IMAGE_PIN_SCHEMA = `
ALTER TABLE workspaces ADD COLUMN image_id TEXT;
CREATE INDEX workspaces_image_id ON workspaces (image_id);
`;

/**
 * The node registry (issue 16, src/domain/nodes.ts) and each workspace's node. No foreign
 * key from workspaces.node_id: a node row may be forgotten while records still name it.
 * Version 10 is the coordination tables (PostgreSQL only; empty here).
 */
const NODES_SCHEMA = `
CREATE TABLE nodes (
  id             TEXT PRIMARY KEY NOT NULL,   -- chosen by the node, stable across its restarts
  name           TEXT NOT NULL,
  address        TEXT NOT NULL,               -- host:port of the node's relay
  cpus           REAL NOT NULL,
  memory_mb      INTEGER NOT NULL,
  disk_mb        INTEGER NOT NULL,
  max_workspaces INTEGER NOT NULL,
  labels         TEXT NOT NULL,               -- JSON Record<string, string>
  state          TEXT NOT NULL,               -- ready | draining | lost
  heartbeat_at   TEXT NOT NULL,
  registered_at  TEXT NOT NULL,
  version        TEXT NOT NULL                -- Warren's version on the node
);
ALTER TABLE workspaces ADD COLUMN node_id TEXT;
CREATE INDEX workspaces_node ON workspaces (node_id);
`;

/** The migrations of this build, in order. Append only. */
export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: 'initial schema', up: (db) => db.exec(INITIAL_SCHEMA) },
  { version: 2, name: 'public ports', up: (db) => db.exec(PUBLIC_PORTS_SCHEMA) },
  { version: 3, name: 'snapshots, archives and lifecycle bookkeeping', up: (db) => db.exec(LAYERS_SCHEMA) },
  { version: 4, name: 'usage and activity', up: (db) => db.exec(USAGE_SCHEMA) },
  { version: 5, name: 'namespaces', up: (db) => db.exec(NAMESPACES_SCHEMA) },
  { version: 6, name: 'namespace quotas', up: (db) => db.exec(QUOTAS_SCHEMA) },
  { version: 7, name: 'scoped API keys and access tokens', up: (db) => db.exec(ACCESS_SCHEMA) },
  { version: 8, name: 'workspace ssh access', up: (db) => db.exec(SSH_SCHEMA) },
  { version: 9, name: 'workspace image pin', up: (db) => db.exec(IMAGE_PIN_SCHEMA) },
  // A single host coordinates in process (src/coordination/local.ts): the version exists so both lists stay aligned.
  { version: 10, name: 'coordination tables (PostgreSQL only)', up: () => {} },
  { version: 11, name: 'node registry', up: (db) => db.exec(NODES_SCHEMA) },
  { ...TOKEN_HASH_MIGRATION, up: sqliteTokenHashUp },
  { ...NODE_SUBNET_MIGRATION, up: (db) => db.exec(NODE_SUBNET_SQL) },
];

function ensureBookkeeping(db: Database.Database): void {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY NOT NULL,
    name       TEXT NOT NULL,
    applied_at TEXT NOT NULL
  )`);
}

/** Throws unless versions strictly ascend (shared with postgres-migrations.ts). */
export function checkOrdered(migrations: ReadonlyArray<{ version: number }>): void {
  for (let i = 1; i < migrations.length; i++) {
    const prev = migrations[i - 1]!;
    const cur = migrations[i]!;
    if (cur.version <= prev.version) {
      throw new Error(`migrations out of order: ${cur.version} after ${prev.version}`);
    }
  }
}

/**
 * Refuses a database carrying a version `migrations` does not list (written by a newer
 * Warren): its schema is not one this build understands. Shared with postgres-migrations.ts.
 */
export function refuseUnknownVersions(applied: readonly number[], migrations: ReadonlyArray<{ version: number }>): void {
  const known = new Set(migrations.map((m) => m.version));
  const unknown = applied.filter((v) => !known.has(v));
  if (unknown.length > 0) {
    throw new AppError(
      'server_error',
      `Database schema version ${Math.max(...unknown)} is not known to this build of Warren (newer release?)`,
      { field: 'schema_version' },
    );
  }
}

/** Versions already applied to `db`, ascending. */
export function appliedVersions(db: Database.Database): number[] {
  ensureBookkeeping(db);
  const rows = db.prepare('SELECT version FROM schema_migrations ORDER BY version').all() as Array<{ version: number }>;
  return rows.map((r) => r.version);
}

/**
 * Brings `db` up to the newest migration. Returns the versions applied by this call
 * (empty when the schema was already current).
 */
export function runMigrations(db: Database.Database, migrations: readonly Migration[] = MIGRATIONS): number[] {
  checkOrdered(migrations);
  refuseUnknownVersions(appliedVersions(db), migrations);
  const isApplied = db.prepare('SELECT 1 FROM schema_migrations WHERE version = ?').pluck();
  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
  const applied: number[] = [];
  for (const m of migrations) {
    const applyOne = db.transaction(() => {
      // Re-checked under the write lock: another process may have applied it meanwhile.
      if (isApplied.get(m.version) !== undefined) return;
      m.up(db);
      record.run(m.version, m.name, new Date().toISOString());
      applied.push(m.version);
    });
    applyOne.immediate();
  }
  return applied;
}
