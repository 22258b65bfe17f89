import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { AppError } from '../contract/errors.js';
import { minimalWorkspace, runStoreContract, sampleWorkspace } from './contract-suite.js';
import { handleFor } from './contract-fixtures.js';
import { openStore } from './open.js';
import { DB_FILE_NAME, SqliteStore } from './sqlite.js';
import { MIGRATIONS, runMigrations } from './migrations.js';
import { recordToRow } from './sqlite-workspace-rows.js';
import { emptyLifecycleInfo } from './store.js';
import { runtimeTokenHash } from './token-hash.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'warren-store-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

runStoreContract('sqlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'warren-store-'));
  return handleFor(() => openStore({ dataDir: join(dir, 'data') }), () => rmSync(dir, { recursive: true, force: true }));
});

test('sqlite: database file and its WAL companions are 0600; pragmas are in effect', async (t) => {
  const dir = tempDir(t);
  const store = new SqliteStore(join(dir, 'nested', 'data'));
  t.after(() => store.close());
  await store.migrate();
  await store.insertWorkspace(sampleWorkspace());
  assert.equal(store.path, join(dir, 'nested', 'data', DB_FILE_NAME));
  for (const suffix of ['', '-wal', '-shm']) {
    assert.equal(statSync(store.path + suffix).mode & 0o777, 0o600, `mode of ${DB_FILE_NAME}${suffix}`);
  }
  const db = (store as unknown as { db: Database.Database }).db;
  assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
  assert.equal(db.pragma('synchronous', { simple: true }), 2); // FULL
  assert.equal(db.pragma('foreign_keys', { simple: true }), 1);
  assert.equal(db.pragma('busy_timeout', { simple: true }), 5000);
});

test('sqlite: migrations are recorded once', async (t) => {
  const dir = tempDir(t);
  const first = await openStore({ dataDir: dir });
  await first.close();
  const second = await openStore({ dataDir: dir });
  await second.migrate();
  await second.close();
  const db = new Database(join(dir, DB_FILE_NAME), { readonly: true });
  t.after(() => db.close());
  const rows = db.prepare('SELECT version FROM schema_migrations').all();
  assert.deepEqual(rows, MIGRATIONS.map((m) => ({ version: m.version })));
});

test('sqlite: a workspace stored before the layers migration reads with empty lifecycle bookkeeping', async (t) => {
  const dir = tempDir(t);
  const db = new Database(join(dir, DB_FILE_NAME));
  runMigrations(db, MIGRATIONS.slice(0, 2));
  const rec = sampleWorkspace();
  const { lifecycle: _dropped, image_id: _later, node_id: _node, token_hash: _hash, ...old } = recordToRow(rec); // columns of later migrations
  const cols = Object.keys(old);
  db.prepare(`INSERT INTO workspaces (${cols.join(', ')}) VALUES (${cols.map((c) => '@' + c).join(', ')})`).run(old);
  db.close();
  const store = await openStore({ dataDir: dir });
  t.after(() => store.close());
  assert.deepEqual(await store.getWorkspace(rec.id), { ...rec, imageId: null, nodeId: null, lifecycle: emptyLifecycleInfo() });
});

test('sqlite: migration 12 backfills the token hash of enabled workspaces written before it', async (t) => {
  const dir = tempDir(t);
  const db = new Database(join(dir, DB_FILE_NAME));
  runMigrations(db, MIGRATIONS.filter((m) => m.version < 12));
  const enabled = sampleWorkspace({ apiAccess: { enabled: true, rawToken: 'f0'.repeat(32), generation: 2 } });
  const disabled = minimalWorkspace({ apiAccess: { enabled: false, rawToken: 'e1'.repeat(32), generation: 5 } });
  for (const rec of [enabled, disabled]) {
    const { token_hash: _absent, ...old } = recordToRow(rec); // the column arrives with migration 12
    const cols = Object.keys(old);
    db.prepare(`INSERT INTO workspaces (${cols.join(', ')}) VALUES (${cols.map((c) => '@' + c).join(', ')})`).run(old);
  }
  db.close();
  const store = await openStore({ dataDir: dir });
  t.after(() => store.close());
  assert.deepEqual(await store.findWorkspaceByTokenHash(runtimeTokenHash('f0'.repeat(32))), enabled);
  assert.equal(await store.findWorkspaceByTokenHash(runtimeTokenHash('e1'.repeat(32))), null);
  const check = new Database(join(dir, DB_FILE_NAME), { readonly: true });
  t.after(() => check.close());
  const hashes = check.prepare('SELECT id, token_hash FROM workspaces ORDER BY id').all() as Array<{ id: string; token_hash: string | null }>;
  assert.deepEqual(Object.fromEntries(hashes.map((r) => [r.id, r.token_hash])),
    { [enabled.id]: runtimeTokenHash('f0'.repeat(32)), [disabled.id]: null });
  const plan = check.prepare('EXPLAIN QUERY PLAN SELECT * FROM workspaces WHERE token_hash = ?').all('x') as Array<{ detail: string }>;
  assert.match(plan.map((p) => p.detail).join(' '), /workspaces_token_hash/, 'the lookup uses the index');
});

test('sqlite: a database migrated by a newer build is refused', async (t) => {
  const dir = tempDir(t);
  await (await openStore({ dataDir: dir })).close();
  const db = new Database(join(dir, DB_FILE_NAME));
  db.prepare("INSERT INTO schema_migrations VALUES (999, 'future', '2099-01-01T00:00:00Z')").run();
  db.close();
  await assert.rejects(openStore({ dataDir: dir }), (err: unknown) => {
    assert.ok(err instanceof AppError);
    assert.equal(err.code, 'server_error');
    assert.match(err.message, /999/);
    return true;
  });
});

test('openStore: postgres URLs select the PostgreSQL store (unreachable: a start-up error, no SQLite fallback); other schemes are invalid', async (t) => {
  const dir = tempDir(t);
  const closedPort = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
  for (const url of [`postgres://u:pw-secret@127.0.0.1:${closedPort}/warren`, `postgresql://127.0.0.1:${closedPort}/w`]) {
    await assert.rejects(openStore({ dataDir: dir, databaseUrl: url }), (err: unknown) => {
      assert.ok(err instanceof Error);
      assert.match(err.message, new RegExp(`PostgreSQL at 127\\.0\\.0\\.1:${closedPort}, database "w(arren)?".*connection refused`));
      assert.doesNotMatch(err.message, /pw-secret/);
      return true;
    });
  }
  assert.equal(existsSync(join(dir, DB_FILE_NAME)), false, 'no SQLite database was made instead');
  await assert.rejects(openStore({ dataDir: dir, databaseUrl: 'mysql://x' }), { code: 'validation_error' });
  const store = await openStore({ dataDir: dir, databaseUrl: '  ' });
  await store.close();
  assert.ok(statSync(join(dir, DB_FILE_NAME)).isFile());
});

/**
 * The child inserts and then updates records in a loop, printing each id only after
 * both promises resolved. The parent SIGKILLs it mid-stream; every reported write must
 * be there on reopen (and the file must not be corrupt).
 */
const CHILD_SCRIPT = `
const [sqliteUrl, suiteUrl, dataDir] = process.argv.slice(2);
const { SqliteStore } = await import(sqliteUrl);
const { sampleWorkspace } = await import(suiteUrl);
const store = new SqliteStore(dataDir);
await store.migrate();
for (let i = 0; ; i++) {
  const rec = sampleWorkspace({ id: 'ws_dur_' + i, version: 1 });
  await store.insertWorkspace(rec);
  await store.updateWorkspace({ ...rec, state: 'stopped' }, 1);
  process.stdout.write(rec.id + '\\n');
}
`;

test('sqlite: acknowledged writes survive SIGKILL of the writer', async (t) => {
  const dir = tempDir(t);
  const script = join(dir, 'writer.mjs');
  writeFileSync(script, CHILD_SCRIPT);
  const dataDir = join(dir, 'data');
  const child = spawn(
    process.execPath,
    [
      '--import', 'tsx', script,
      pathToFileURL(join(REPO_ROOT, 'src/store/sqlite.ts')).href,
      pathToFileURL(join(REPO_ROOT, 'src/store/contract-suite.ts')).href,
      dataDir,
    ],
    { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));

  const KILL_AFTER = 25;
  const reported: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`writer reported nothing in time; stderr: ${stderr}`)), 20_000);
    let buf = '';
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop()!;
      reported.push(...lines);
      if (reported.length >= KILL_AFTER && child.signalCode === null) {
        child.kill('SIGKILL');
      }
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (signal === 'SIGKILL') resolve();
      else reject(new Error(`writer exited early (code ${code}); stderr: ${stderr}`));
    });
  });

  assert.ok(reported.length >= KILL_AFTER);
  const store = await openStore({ dataDir });
  t.after(() => store.close());
  for (const id of reported) {
    const rec = await store.getWorkspace(id);
    assert.ok(rec, `acknowledged write ${id} was lost`);
    assert.equal(rec.state, 'stopped');
    assert.equal(rec.version, 2);
  }
  const db = (store as unknown as { db: Database.Database }).db;
  assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
});

test('allNetworkPolicies hands back the same frozen policy object until the policy changes', async (t) => {
  const store = await openStore({ dataDir: tempDir(t) });
  t.after(() => store.close());
  const rec = sampleWorkspace({ id: 'ws_net1' });
  await store.insertWorkspace(rec);
  const first = (await store.allNetworkPolicies())[0]!.network;
  assert.ok(Object.isFrozen(first) && Object.isFrozen(first.egress));
  const stored = (await store.getWorkspace(rec.id))!;
  await store.updateWorkspace({ ...stored, name: 'renamed' });
  assert.equal((await store.allNetworkPolicies())[0]!.network, first, 'unchanged policy: same object');
  const renamed = (await store.getWorkspace(rec.id))!;
  await store.updateWorkspace({ ...renamed, network: { ...renamed.network, egress: ['1.2.3.4'] } });
  const second = (await store.allNetworkPolicies())[0]!.network;
  assert.notEqual(second, first);
  assert.deepEqual(second.egress, ['1.2.3.4']);
});

test('sqlite: migration 13 gives nodes registered before it an empty subnet until they register again', async (t) => {
  const dir = tempDir(t);
  const db = new Database(join(dir, DB_FILE_NAME));
  runMigrations(db, MIGRATIONS.filter((m) => m.version < 13));
  db.prepare(`INSERT INTO nodes (id, name, address, cpus, memory_mb, disk_mb, max_workspaces, labels, state, heartbeat_at, registered_at, version)
    VALUES ('n-a', 'a', '10.0.0.1:7443', 4, 4096, 10000, 8, '{}', 'ready', 'T0', 'T0', '0.1.0')`).run();
  db.close();
  const store = await openStore({ dataDir: dir });
  t.after(() => store.close());
  assert.equal((await store.getNode('n-a'))?.subnet, '');
  const reg = { id: 'n-a', name: 'a', address: '10.0.0.1:7443', subnet: '10.214.0.0/24', capacity: { cpus: 4, memory_mb: 4096, disk_mb: 10_000, max_workspaces: 8 }, labels: {}, version: '0.1.0' };
  assert.equal((await store.registerNode(reg, new Date().toISOString())).subnet, '10.214.0.0/24');
});
