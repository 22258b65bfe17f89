/**
 * The PostgreSQL store: the whole store contract (as SQLite passes it) on a private cluster
 * (test/support/postgres.ts, a database per store), then what only PostgreSQL has:
 * migrations under an advisory lock, refusal of a newer schema, constraint names → API
 * fields, lost connections → service_unavailable without PostgreSQL text, start-up errors.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import pg from 'pg';
import { startPostgres, type TestPostgres } from '../../test/support/postgres.js';
import { AppError } from '../contract/errors.js';
import { runStoreContract, sampleWorkspace } from './contract-suite.js';
import { openStore, openStoreUnmigrated } from './open.js';
import { PostgresStore } from './postgres.js';
import { translatePgError } from './postgres-errors.js';
import { PG_MIGRATIONS, runPgMigrations } from './postgres-migrations.js';
import { MIGRATIONS } from './migrations.js';
import { handleFor } from './contract-fixtures.js';
import { recordToRow } from './sqlite-workspace-rows.js';
import { runtimeTokenHash } from './token-hash.js';

let pgs: TestPostgres;
before(async () => { pgs = await startPostgres(); });
after(async () => { await pgs?.stop(); });

const dropDatabase = async (url: string) => {
  const name = decodeURIComponent(new URL(url).pathname.slice(1));
  await pgs.query(pgs.adminUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
};

/** A fresh database and a store on it, both removed after the test. */
async function freshStore(t: { after(fn: () => Promise<void>): void }): Promise<{ store: PostgresStore; url: string }> {
  const url = await pgs.createDatabase();
  const store = (await openStore({ dataDir: '/nonexistent', databaseUrl: url })) as PostgresStore;
  t.after(async () => { await store.close(); await dropDatabase(url); });
  return { store, url };
}

runStoreContract('postgres', async () => {
  const url = await pgs.createDatabase();
  return handleFor(() => openStore({ dataDir: '/nonexistent', databaseUrl: url }), () => dropDatabase(url));
});

describe('postgres store: schema', () => {
  test('the PostgreSQL list ends at the SQLite list\'s latest version', () => {
    assert.equal(PG_MIGRATIONS.at(-1)!.version, MIGRATIONS.at(-1)!.version);
  });

  test('migrating twice is a no-op; each version is recorded once', async (t) => {
    const { store, url } = await freshStore(t);
    await store.migrate();
    assert.deepEqual(await store.applyMigrations(), []);
    const rows = await pgs.query<{ version: number }>(url, 'SELECT version FROM schema_migrations ORDER BY version');
    assert.deepEqual(rows.map((r) => r.version), PG_MIGRATIONS.map((m) => m.version));
    const versions = PG_MIGRATIONS.map((m) => m.version);
    assert.deepEqual(await store.schemaVersions(), { applied: versions, known: versions });
  });

  test('two stores migrating one empty database at once both succeed (advisory lock)', async (t) => {
    const url = await pgs.createDatabase();
    t.after(() => dropDatabase(url));
    const stores = await Promise.all([0, 1, 2].map(() => openStoreUnmigrated({ dataDir: '/nonexistent', databaseUrl: url })));
    t.after(async () => { for (const s of stores) await s.close(); });
    const applied = await Promise.all(stores.map((s) => s.applyMigrations()));
    assert.deepEqual(applied.flat().sort((x, y) => x - y), PG_MIGRATIONS.map((m) => m.version), 'each migration was applied by exactly one of them');
    const rows = await pgs.query<{ n: number }>(url, 'SELECT COUNT(*)::int AS n FROM schema_migrations');
    assert.equal(rows[0]!.n, PG_MIGRATIONS.length);
    await stores[1]!.insertWorkspace(sampleWorkspace());
    assert.equal((await stores[2]!.allWorkspaces()).length, 1);
  });

  test('a database migrated by a newer build is refused, by serve and by migrate', async (t) => {
    const { store, url } = await freshStore(t);
    await pgs.query(url, "INSERT INTO schema_migrations VALUES (999, 'future', '2099-01-01T00:00:00Z')");
    const refused = (err: unknown) => {
      assert.ok(err instanceof AppError);
      assert.equal(err.code, 'server_error');
      assert.equal(err.details?.field, 'schema_version');
      assert.match(err.message, /999/);
      return true;
    };
    await assert.rejects(openStore({ dataDir: '/nonexistent', databaseUrl: url }), refused);
    await assert.rejects(store.applyMigrations(), refused);
  });

  test('a failing migration leaves no trace', async (t) => {
    const url = await pgs.createDatabase();
    t.after(() => dropDatabase(url));
    const store = await openStoreUnmigrated({ dataDir: '/nonexistent', databaseUrl: url }) as PostgresStore;
    t.after(() => store.close());
    const pool = (store as unknown as { pool: pg.Pool }).pool;
    const broken = [{ version: 1, name: 'half', up: async (c: pg.ClientBase) => { await c.query('CREATE TABLE half (x int)'); await c.query('NOT SQL'); } }];
    await assert.rejects(runPgMigrations(pool, broken));
    const rows = await pgs.query(url, "SELECT to_regclass('half') AS t");
    assert.deepEqual(rows[0], { t: null });
    assert.deepEqual((await store.schemaVersions()).applied, []);
  });

  test('migration 12 backfills the token hash of enabled workspaces (sha256 in SQL = the JS digest)', async (t) => {
    const url = await pgs.createDatabase();
    t.after(() => dropDatabase(url));
    const store = await openStoreUnmigrated({ dataDir: '/nonexistent', databaseUrl: url }) as PostgresStore;
    t.after(() => store.close());
    const pool = (store as unknown as { pool: pg.Pool }).pool;
    await runPgMigrations(pool, PG_MIGRATIONS.filter((m) => m.version < 12));
    const enabled = sampleWorkspace({ apiAccess: { enabled: true, rawToken: 'zoë-Ω-'.repeat(6), generation: 2 } });
    const disabled = sampleWorkspace({ apiAccess: { enabled: false, rawToken: 'e1'.repeat(32), generation: 5 } });
    for (const rec of [enabled, disabled]) {
      const { token_hash: _absent, ...old } = recordToRow(rec); // the column arrives with migration 12
      const cols = Object.keys(old);
      await pool.query(`INSERT INTO workspaces (${cols.join(', ')}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(', ')})`,
        Object.values(old));
    }
    assert.deepEqual(await store.applyMigrations(), PG_MIGRATIONS.filter((m) => m.version >= 12).map((m) => m.version));
    assert.deepEqual(await store.findWorkspaceByTokenHash(runtimeTokenHash('zoë-Ω-'.repeat(6))), enabled);
    assert.equal(await store.findWorkspaceByTokenHash(runtimeTokenHash('e1'.repeat(32))), null);
    const rows = await pgs.query<{ id: string; token_hash: string | null }>(url, 'SELECT id, token_hash FROM workspaces');
    assert.deepEqual(Object.fromEntries(rows.map((r) => [r.id, r.token_hash])),
      { [enabled.id]: runtimeTokenHash('zoë-Ω-'.repeat(6)), [disabled.id]: null });
  });
});

describe('postgres store: errors', () => {
  const conflictOn = (field: string) => (err: unknown) =>
    err instanceof AppError && err.code === 'conflict' && err.details?.field === field && !/constraint|duplicate|violates/i.test(err.message);

  test('unique violations name the API field (workspaces, exposures, ssh, namespaces)', async (t) => {
    const { store } = await freshStore(t);
    const a = sampleWorkspace();
    const b = sampleWorkspace();
    await store.insertWorkspaces([a, b]);
    await assert.rejects(store.insertWorkspace(sampleWorkspace({ shortId: a.shortId })), conflictOn('short_id'));
    await assert.rejects(store.updateWorkspace({ ...b, idempotencyKey: a.idempotencyKey }), conflictOn('idempotency_key'));
    await store.putPublicPort({ workspace_id: a.id, port: 80, slug: 'web', label: '', domain: null, created_at: a.createdAt });
    await assert.rejects(store.putPublicPort({ workspace_id: b.id, port: 80, slug: 'web', label: '', domain: null, created_at: a.createdAt }),
      conflictOn('slug'));
    const ssh = { workspace_id: a.id, ssh_id: '0123456789abcdef', password_hash: null, password_changed: false, key_only: true,
      authorized_keys: ['ssh-ed25519 AAAA me'], host_key: 'k', host_key_public: 'p', created_at: a.createdAt, updated_at: a.createdAt };
    await store.putSsh(ssh);
    assert.deepEqual(await store.findSshById(ssh.ssh_id), ssh);
    await assert.rejects(store.putSsh({ ...ssh, workspace_id: b.id }), conflictOn('ssh_id'));
    await assert.rejects(store.putSsh({ ...ssh, workspace_id: 'ws_missing', ssh_id: 'ffff' }),
      (e: unknown) => e instanceof AppError && e.code === 'not_found' && e.details?.field === 'id');
    await store.deleteWorkspace(a.id);
    assert.equal(await store.getSsh(a.id), null, 'the ssh row went with its workspace');
  });

  test('a statement error is a server_error that carries no PostgreSQL text', () => {
    const err = translatePgError(Object.assign(new Error('relation "secret_table" does not exist'), { code: '42P01' }));
    assert.equal(err.code, 'server_error');
    assert.doesNotMatch(err.message, /secret_table|relation/);
    assert.equal(translatePgError(Object.assign(new Error('could not serialize access'), { code: '40001' })).code, 'service_unavailable');
    for (const text of ['timeout exceeded when trying to connect', 'Connection terminated unexpectedly']) {
      const e = translatePgError(new Error(text));
      assert.equal(e.code, 'service_unavailable', text);
      assert.doesNotMatch(e.message, /timeout|terminated/);
    }
    const refused = translatePgError(Object.assign(new Error('connect ECONNREFUSED 10.0.0.9:5432'), { code: 'ECONNREFUSED' }));
    assert.equal(refused.code, 'service_unavailable');
    assert.doesNotMatch(refused.message, /10\.0\.0\.9|ECONNREFUSED/);
  });

  test('a connection dropped mid-query is service_unavailable without PostgreSQL text; the pool recovers', async (t) => {
    const { store, url } = await freshStore(t);
    const ws = sampleWorkspace();
    await store.insertWorkspace(ws);
    const admin = new pg.Client({ connectionString: url });
    // The database is dropped (WITH FORCE) after the test: a late termination of this client is expected.
    admin.on('error', () => {});
    await admin.connect();
    t.after(() => admin.end());
    await admin.query('BEGIN');
    await admin.query('LOCK TABLE workspaces IN ACCESS EXCLUSIVE MODE');
    // Settled into a value at once: the rejection is asserted below, not left unhandled meanwhile.
    const blocked = store.getWorkspace(ws.id).then(() => null, (err: unknown) => err);
    // Wait until the store's query waits on the lock, then cut its connection.
    for (let i = 0; i < 100; i++) {
      const waiting = await pgs.query(pgs.adminUrl, `SELECT pid FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'`,
        [new URL(url).pathname.slice(1)]);
      if (waiting.length > 0) {
        await pgs.query(pgs.adminUrl, 'SELECT pg_terminate_backend($1)', [waiting[0]!.pid]);
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    const err = await blocked;
    assert.ok(err instanceof AppError, String(err));
    assert.equal(err.code, 'service_unavailable');
    assert.doesNotMatch(err.message, /terminat|administrator|57P01|SQL/i);
    await admin.query('ROLLBACK');
    await admin.end();
    assert.deepEqual(await store.getWorkspace(ws.id), ws, 'the next query gets a new connection');
  });
});

describe('postgres store: start-up errors name host, port and database, never the password', () => {
  const SECRET = 'hunter2-secret';
  async function startupLine(url: string): Promise<string> {
    const started = Date.now();
    let message = '';
    await assert.rejects(openStore({ dataDir: '/nonexistent', databaseUrl: url }), (err: unknown) => {
      message = (err as Error).message;
      return true;
    });
    assert.ok(Date.now() - started < 8_000, `failed within the connect timeout (${Date.now() - started} ms)`);
    assert.doesNotMatch(message, new RegExp(SECRET));
    assert.doesNotMatch(message, /\n/);
    return message;
  }

  test('refused, no such database, authentication failed, invalid URL', async () => {
    const closed = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const port = (s.address() as { port: number }).port;
        s.close(() => resolve(port));
      });
    });
    assert.match(await startupLine(`postgres://warren:${SECRET}@127.0.0.1:${closed}/warren`),
      new RegExp(`127\\.0\\.0\\.1:${closed}, database "warren".*connection refused`));
    assert.match(await startupLine(`postgres://warren:${SECRET}@127.0.0.1:${pgs.port}/no_such_db`),
      new RegExp(`127\\.0\\.0\\.1:${pgs.port}, database "no_such_db".*no such database`));
    assert.match(await startupLine(`postgresql://nobody:${SECRET}@127.0.0.1:${pgs.port}/postgres`),
      /user "nobody"\).*authentication failed/);
    assert.match(await startupLine(`postgres://warren:${SECRET}@127.0.0.1:notaport/x`), /not a valid/);
  });

  test('a server that never answers times out within the connect timeout', async (t) => {
    const sockets: Socket[] = [];
    const silent: Server = createServer((s) => { sockets.push(s); });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    t.after(() => { for (const s of sockets) s.destroy(); silent.close(); });
    const port = (silent.address() as { port: number }).port;
    assert.match(await startupLine(`postgres://warren:${SECRET}@127.0.0.1:${port}/db1`),
      new RegExp(`127\\.0\\.0\\.1:${port}, database "db1".*timed out`));
  });
});
