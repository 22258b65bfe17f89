import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { AppError } from '../contract/errors.js';
import { appliedVersions, MIGRATIONS, runMigrations, type Migration } from './migrations.js';

function memoryDb(t: { after(fn: () => void): void }): Database.Database {
  const db = new Database(':memory:');
  t.after(() => db.close());
  return db;
}

function tableNames(db: Database.Database): string[] {
  return db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all() as string[];
}

const createTable = (version: number, table: string): Migration => ({
  version,
  name: `create ${table}`,
  up: (db) => db.exec(`CREATE TABLE ${table} (x INTEGER)`),
});

test('migrations apply in order once; re-running is a no-op', (t) => {
  const db = memoryDb(t);
  const order: number[] = [];
  const list = [1, 2, 3].map((v) => ({ ...createTable(v, `t${v}`), up: (d: Database.Database) => { order.push(v); d.exec(`CREATE TABLE t${v} (x)`); } }));
  assert.deepEqual(runMigrations(db, list), [1, 2, 3]);
  assert.deepEqual(order, [1, 2, 3]);
  assert.deepEqual(runMigrations(db, list), []);
  assert.deepEqual(order, [1, 2, 3]);
  assert.deepEqual(appliedVersions(db), [1, 2, 3]);
});

test('a new migration appended later is applied alone', (t) => {
  const db = memoryDb(t);
  runMigrations(db, [createTable(1, 'a')]);
  assert.deepEqual(runMigrations(db, [createTable(1, 'a'), createTable(2, 'b')]), [2]);
  assert.deepEqual(tableNames(db), ['a', 'b', 'schema_migrations']);
});

test('a failing migration rolls back entirely and stops the run', (t) => {
  const db = memoryDb(t);
  const broken: Migration = {
    version: 2,
    name: 'half done',
    up: (d) => {
      d.exec('CREATE TABLE half (x)');
      d.exec('THIS IS NOT SQL');
    },
  };
  assert.throws(() => runMigrations(db, [createTable(1, 'a'), broken, createTable(3, 'c')]));
  assert.deepEqual(appliedVersions(db), [1]);
  assert.deepEqual(tableNames(db), ['a', 'schema_migrations']);
});

test('out-of-order or duplicate versions are rejected before anything runs', (t) => {
  const db = memoryDb(t);
  assert.throws(() => runMigrations(db, [createTable(2, 'a'), createTable(1, 'b')]), /out of order/);
  assert.throws(() => runMigrations(db, [createTable(1, 'a'), createTable(1, 'b')]), /out of order/);
  assert.deepEqual(appliedVersions(db), []);
});

test('an applied version unknown to this build is refused', (t) => {
  const db = memoryDb(t);
  runMigrations(db, [createTable(1, 'a'), createTable(2, 'b')]);
  assert.throws(
    () => runMigrations(db, [createTable(1, 'a')]),
    (err: unknown) => err instanceof AppError && err.code === 'server_error' && /version 2/.test(err.message),
  );
});

test('the real migrations create the store tables and unique indexes', (t) => {
  const db = memoryDb(t);
  runMigrations(db, MIGRATIONS);
  assert.deepEqual(tableNames(db), ['access_tokens', 'activity', 'api_keys', 'archives', 'default_quotas', 'namespace_activity', 'namespace_quotas', 'namespaces', 'nodes', 'public_ports',
    'schema_migrations', 'settings', 'snapshots', 'sqlite_sequence', 'usage_samples', 'usage_tracking', 'workspace_ssh', 'workspaces']);
  const uniques = (db.prepare("SELECT name FROM pragma_index_list('workspaces') WHERE \"unique\" = 1").pluck().all() as string[])
    .map((idx) => (db.prepare('SELECT name FROM pragma_index_info(?)').pluck().all(idx) as string[]).join(','))
    .sort();
  assert.deepEqual(uniques, ['id', 'idempotency_key', 'ip', 'short_id', 'slug']);
});
