/**
 * `warren migrate` as an operator runs it (the compiled CLI), on both stores: --check
 * before and after, explicit apply with the version before/after, a partly migrated
 * SQLite file, refusal of a newer schema, and an unreachable PostgreSQL.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { runWarren, tempDir as tempDirOf } from '../../test/support/warren-cli.js';
import { startPostgres, type TestPostgres } from '../../test/support/postgres.js';
import { PG_MIGRATIONS } from '../store/postgres-migrations.js';
import { MIGRATIONS, runMigrations } from '../store/migrations.js';
import { DB_FILE_NAME } from '../store/sqlite.js';

const LATEST = MIGRATIONS.at(-1)!.version;
/** PostgreSQL's versions (a baseline, then the same numbers as SQLite's), as the CLI lists them. */
const PG_VERSIONS = PG_MIGRATIONS.map((m) => m.version).join(', ');

const migrate = (args: string[], env: Record<string, string> = {}) => runWarren(['migrate', ...args], env);
const tempDir = (t: { after(fn: () => void): void }) => tempDirOf(t, 'warren-migrate-');

describe('warren migrate: SQLite', () => {
  test('--check on a data dir without a database: pending, and no file is made', (t) => {
    const dir = tempDir(t);
    const r = migrate(['--data-dir', dir, '--check']);
    assert.equal(r.code, 1, r.err);
    assert.match(r.out, /schema version 0 \(empty\); pending: all/);
    assert.equal(existsSync(join(dir, DB_FILE_NAME)), false);
  });

  test('applies all, then nothing; --check is 0 once up to date', (t) => {
    const dir = tempDir(t);
    const first = migrate(['--data-dir', dir]);
    assert.equal(first.code, 0, first.err);
    assert.match(first.out, new RegExp(`schema version 0 \\(empty\\) -> ${LATEST} \\(applied ${MIGRATIONS.map((m) => m.version).join(', ')}\\)`));
    const again = migrate([], { WARREN_DATA_DIR: dir });
    assert.equal(again.code, 0, again.err);
    assert.match(again.out, new RegExp(`schema version ${LATEST} -> ${LATEST} \\(already up to date\\)`));
    const check = migrate(['--data-dir', dir, '--check']);
    assert.equal(check.code, 0, check.err);
    assert.match(check.out, new RegExp(`schema version ${LATEST}; this build: ${LATEST}; up to date`));
  });

  test('a partly migrated file: --check names the pending versions, migrate applies only them', (t) => {
    const dir = tempDir(t);
    const db = new Database(join(dir, DB_FILE_NAME));
    runMigrations(db, MIGRATIONS.slice(0, -2));
    db.close();
    const check = migrate(['--data-dir', dir, '--check']);
    assert.equal(check.code, 1);
    const pending = MIGRATIONS.slice(-2).map((m) => m.version);
    assert.match(check.out, new RegExp(`pending: ${pending.join(', ')}`));
    const r = migrate(['--data-dir', dir]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, new RegExp(`-> ${LATEST} \\(applied ${pending.join(', ')}\\)`));
  });

  test('a database written by a newer build is refused by --check and by migrate', (t) => {
    const dir = tempDir(t);
    assert.equal(migrate(['--data-dir', dir]).code, 0);
    const db = new Database(join(dir, DB_FILE_NAME));
    db.prepare("INSERT INTO schema_migrations VALUES (999, 'future', '2099-01-01T00:00:00Z')").run();
    db.close();
    const check = migrate(['--data-dir', dir, '--check']);
    assert.equal(check.code, 1);
    assert.match(check.out, /schema version 999.*newer than this build/);
    const r = migrate(['--data-dir', dir]);
    assert.equal(r.code, 1);
    assert.match(r.err, /^warren: Database schema version 999 is not known to this build/);
  });
});

describe('warren migrate: PostgreSQL', () => {
  let pgs: TestPostgres;
  before(async () => { pgs = await startPostgres(); });
  after(async () => { await pgs?.stop(); });

  test('--check pending on an empty database; migrate applies the baseline once; then up to date', async () => {
    const url = await pgs.createDatabase();
    const check = migrate(['--database-url', url, '--check']);
    assert.equal(check.code, 1, check.err);
    assert.match(check.out, new RegExp(`PostgreSQL at 127\\.0\\.0\\.1:${pgs.port}, database "[^"]+".*schema version 0 \\(empty\\); this build: ${LATEST}; pending: ${PG_VERSIONS}`));
    const r = migrate(['--database-url', url]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, new RegExp(`schema version 0 \\(empty\\) -> ${LATEST} \\(applied ${PG_VERSIONS}\\)`));
    const again = migrate([], { WARREN_DATABASE_URL: url });
    assert.equal(again.code, 0, again.err);
    assert.match(again.out, /already up to date/);
    assert.equal(migrate(['--database-url', url, '--check']).code, 0);
  });

  test('a newer schema is refused', async () => {
    const url = await pgs.createDatabase();
    assert.equal(migrate(['--database-url', url]).code, 0);
    await pgs.query(url, "INSERT INTO schema_migrations VALUES (999, 'future', '2099-01-01T00:00:00Z')");
    assert.equal(migrate(['--database-url', url, '--check']).code, 1);
    const r = migrate(['--database-url', url]);
    assert.equal(r.code, 1);
    assert.match(r.err, /Database schema version 999 is not known to this build/);
  });

  test('an unreachable server: exit 1, one line naming host, port and database, no password', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const r = migrate(['--database-url', `postgres://warren:pw-secret-42@127.0.0.1:${port}/fleet`]);
    assert.equal(r.code, 1);
    assert.equal(r.err.trim().split('\n').length, 1, r.err);
    assert.match(r.err, new RegExp(`PostgreSQL at 127\\.0\\.0\\.1:${port}, database "fleet".*connection refused`));
    assert.doesNotMatch(r.err + r.out, /pw-secret-42/);
  });
});
