/**
 * The whole store schema for PostgreSQL as of SQLite migration 9 (src/store/migrations.ts):
 * the baseline of postgres-migrations.ts. Same tables and columns as SQLite, so the row
 * mappers of the SQLite store serve both, with these choices:
 *
 * - Text is `COLLATE "C"` (byte order, as SQLite compares): ids, slugs and the ISO-8601
 *   timestamps sort and range-compare exactly as in SQLite, whatever the cluster's locale.
 * - JSON stays text (JSON.stringify/parse round-trip the records exactly; jsonb would
 *   reorder keys and drop duplicate ones).
 * - Unique constraints are named `<table>_<column>_key` so a 23505 names the API field
 *   (postgres-errors.ts); foreign keys cascade like SQLite's.
 * - Flags are SMALLINT 0/1 as in SQLite, and int8/numeric are read as numbers
 *   (postgres-db.ts): a row comes back exactly as SQLite hands it, so the SQLite
 *   modules' row mappers serve both stores.
 */

/** Byte-order text: comparisons and ORDER BY as SQLite does them. */
const T = 'TEXT COLLATE "C"';

export const BASELINE_SCHEMA = `
CREATE TABLE workspaces (
  id                  ${T} NOT NULL,
  short_id            ${T} NOT NULL,
  name                ${T} NOT NULL,
  slug                ${T},
  namespace           ${T},
  mode                ${T} NOT NULL,
  image               ${T} NOT NULL,
  image_id            ${T},
  state               ${T} NOT NULL,
  pending             ${T},              -- JSON PendingOperation or NULL
  user_requested_stop SMALLINT NOT NULL DEFAULT 0,
  config              ${T} NOT NULL,     -- JSON WorkspaceConfig
  network             ${T} NOT NULL,     -- JSON NetworkPolicy
  ip                  ${T} NOT NULL,
  api_access          ${T} NOT NULL,     -- JSON ApiAccessState
  metadata            ${T} NOT NULL,     -- JSON Record<string, string>
  lifecycle           ${T} NOT NULL DEFAULT '{}',
  idempotency_key     ${T},
  error               ${T},              -- JSON {code, message} or NULL
  created_at          ${T} NOT NULL,     -- ISO-8601 UTC; sorts lexicographically
  updated_at          ${T} NOT NULL,
  started_at          ${T},
  version             INTEGER NOT NULL,
  CONSTRAINT workspaces_id_key PRIMARY KEY (id),
  CONSTRAINT workspaces_short_id_key UNIQUE (short_id),
  CONSTRAINT workspaces_slug_key UNIQUE (slug),
  CONSTRAINT workspaces_ip_key UNIQUE (ip),
  CONSTRAINT workspaces_idempotency_key_key UNIQUE (idempotency_key)
);
CREATE INDEX workspaces_created ON workspaces (created_at DESC, id);
CREATE INDEX workspaces_namespace ON workspaces (namespace, created_at DESC);
CREATE INDEX workspaces_state ON workspaces (state);
CREATE INDEX workspaces_mode ON workspaces (mode);
CREATE INDEX workspaces_image_id ON workspaces (image_id);

CREATE TABLE api_keys (
  client_id    ${T} PRIMARY KEY,
  secret_hash  ${T} NOT NULL,
  scope        ${T} NOT NULL,
  namespace_id ${T},
  label        ${T},
  created_at   ${T} NOT NULL
);

CREATE TABLE settings (
  key   ${T} PRIMARY KEY,
  value ${T} NOT NULL
);

CREATE TABLE public_ports (
  workspace_id ${T} NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
  port         INTEGER NOT NULL,
  slug         ${T} NOT NULL,
  label        ${T} NOT NULL,
  domain       ${T},
  created_at   ${T} NOT NULL,
  PRIMARY KEY (workspace_id, port),
  CONSTRAINT public_ports_slug_key UNIQUE (slug)
);

CREATE TABLE snapshots (
  id            ${T} PRIMARY KEY,
  workspace_id  ${T} NOT NULL,
  short_id      ${T} NOT NULL,
  purpose       ${T} NOT NULL,
  state         ${T} NOT NULL,
  bytes         BIGINT NOT NULL,
  copy_on_write SMALLINT NOT NULL,
  frozen_ms     DOUBLE PRECISION NOT NULL,
  created_at    ${T} NOT NULL
);
CREATE INDEX snapshots_workspace ON snapshots (workspace_id, purpose, created_at);

CREATE TABLE archives (
  workspace_id     ${T} NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
  version          ${T} NOT NULL,
  state            ${T} NOT NULL,
  format           ${T} NOT NULL,
  kind             ${T} NOT NULL,
  vm_paths         ${T} NOT NULL,     -- JSON string[]
  exclude_vm_paths ${T} NOT NULL,     -- JSON string[]
  size_bytes       BIGINT NOT NULL,
  sha256           ${T},
  file             ${T} NOT NULL,
  created_at       ${T} NOT NULL,
  completed_at     ${T},
  PRIMARY KEY (workspace_id, version)
);

CREATE TABLE usage_samples (
  workspace_id      ${T} NOT NULL,
  bucket_start      ${T} NOT NULL,
  cpu_seconds       DOUBLE PRECISION NOT NULL DEFAULT 0,
  memory_mb_seconds DOUBLE PRECISION NOT NULL DEFAULT 0,
  disk_mb_hours     DOUBLE PRECISION NOT NULL DEFAULT 0,
  rx_bytes          BIGINT NOT NULL DEFAULT 0,
  tx_bytes          BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (workspace_id, bucket_start)
);
CREATE INDEX usage_samples_bucket ON usage_samples (bucket_start);

CREATE TABLE usage_tracking (
  workspace_id ${T} PRIMARY KEY,
  enabled      SMALLINT NOT NULL DEFAULT 1,
  changed_at   ${T},
  cursor       ${T}                     -- JSON UsageCursor or NULL
);

CREATE TABLE activity (
  id           BIGSERIAL PRIMARY KEY,
  workspace_id ${T} NOT NULL,
  type         ${T} NOT NULL,
  from_state   ${T},
  to_state     ${T},
  origin       ${T} NOT NULL,
  reason       ${T},
  at           ${T} NOT NULL,
  details      ${T} NOT NULL            -- JSON object
);
CREATE INDEX activity_workspace ON activity (workspace_id, id);
CREATE INDEX activity_at ON activity (at);

CREATE TABLE namespaces (
  id              ${T} PRIMARY KEY,
  slug            ${T} NOT NULL,
  name            ${T} NOT NULL,
  description     ${T},
  status          ${T} NOT NULL,
  type            ${T} NOT NULL,
  is_default      SMALLINT NOT NULL DEFAULT 0,
  metadata        ${T} NOT NULL,
  tags            ${T} NOT NULL,
  resource_limits ${T},
  created_at      ${T} NOT NULL,
  updated_at      ${T} NOT NULL,
  last_active_at  ${T},
  CONSTRAINT namespaces_slug_key UNIQUE (slug)
);

CREATE TABLE namespace_activity (
  id           BIGSERIAL PRIMARY KEY,
  namespace_id ${T} NOT NULL,
  action       ${T} NOT NULL,
  description  ${T},
  changes      ${T},
  created_at   ${T} NOT NULL
);
CREATE INDEX namespace_activity_ns ON namespace_activity (namespace_id, id);

CREATE TABLE namespace_quotas (
  namespace_id            ${T} NOT NULL,
  service                 ${T} NOT NULL,
  quota_limit             DOUBLE PRECISION NOT NULL,
  quota_used              DOUBLE PRECISION NOT NULL DEFAULT 0,
  overdraft               DOUBLE PRECISION NOT NULL DEFAULT 0,
  on_overdraft_action     ${T} NOT NULL,
  notification_thresholds ${T},
  last_threshold_fired    DOUBLE PRECISION,
  enabled                 SMALLINT NOT NULL DEFAULT 1,
  usage_since             ${T} NOT NULL,
  created_at              ${T} NOT NULL,
  updated_at              ${T} NOT NULL,
  PRIMARY KEY (namespace_id, service)
);

CREATE TABLE default_quotas (
  level               ${T} NOT NULL,
  service             ${T} NOT NULL,
  quota_limit         DOUBLE PRECISION NOT NULL,
  overdraft           DOUBLE PRECISION NOT NULL DEFAULT 0,
  on_overdraft_action ${T} NOT NULL,
  auto_apply          SMALLINT NOT NULL DEFAULT 0,
  enabled             SMALLINT NOT NULL DEFAULT 1,
  created_at          ${T} NOT NULL,
  updated_at          ${T} NOT NULL,
  PRIMARY KEY (level, service)
);

CREATE TABLE access_tokens (
  id           ${T} PRIMARY KEY,
  scope        ${T} NOT NULL,
  namespace_id ${T},
  workspace_id ${T},
  label        ${T},
  issued_by    ${T} NOT NULL,
  created_at   ${T} NOT NULL,
  expires_at   ${T} NOT NULL,
  revoked_at   ${T}
);
CREATE INDEX access_tokens_expiry ON access_tokens (expires_at);

CREATE TABLE workspace_ssh (
  workspace_id     ${T} PRIMARY KEY REFERENCES workspaces (id) ON DELETE CASCADE,
  ssh_id           ${T} NOT NULL,
  password_hash    ${T},
  password_changed SMALLINT NOT NULL DEFAULT 0,
  key_only         SMALLINT NOT NULL DEFAULT 0,
  authorized_keys  ${T} NOT NULL,     -- JSON array of OpenSSH public key lines
  host_key         ${T} NOT NULL,
  host_key_public  ${T} NOT NULL,
  created_at       ${T} NOT NULL,
  updated_at       ${T} NOT NULL,
  CONSTRAINT workspace_ssh_ssh_id_key UNIQUE (ssh_id)
);
`;

/** Migration 11 (as SQLite's NODES_SCHEMA in migrations.ts): the node registry and each workspace's node. */
export const NODES_SCHEMA = `
CREATE TABLE nodes (
  id             ${T} PRIMARY KEY,
  name           ${T} NOT NULL,
  address        ${T} NOT NULL,
  cpus           DOUBLE PRECISION NOT NULL,
  memory_mb      BIGINT NOT NULL,
  disk_mb        BIGINT NOT NULL,
  max_workspaces INTEGER NOT NULL,
  labels         ${T} NOT NULL,     -- JSON Record<string, string>
  state          ${T} NOT NULL,     -- ready | draining | lost
  heartbeat_at   ${T} NOT NULL,
  registered_at  ${T} NOT NULL,
  version        ${T} NOT NULL
);
ALTER TABLE workspaces ADD COLUMN node_id ${T};
CREATE INDEX workspaces_node ON workspaces (node_id);
`;
