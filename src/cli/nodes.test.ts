/**
 * `warren nodes` as an operator runs it (the compiled CLI), on both stores: the list (table
 * and --json) with state, heartbeat age, capacity and what each node's workspaces hold;
 * drain / undrain; an unknown or lost node; a database without the registry.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { runWarren, tempDir as tempDirOf } from '../../test/support/warren-cli.js';
import { startPostgres, type TestPostgres } from '../../test/support/postgres.js';
import { sampleWorkspace } from '../store/contract-fixtures.js';
import { MIGRATIONS, runMigrations } from '../store/migrations.js';
import { openStore } from '../store/open.js';
import { DB_FILE_NAME } from '../store/sqlite.js';
import type { NodeRegistration } from '../store/store.js';
import { ageText } from './nodes.js';

const nodes = (args: string[], env: Record<string, string> = {}) => runWarren(['nodes', ...args], env);
const tempDir = (t: { after(fn: () => void): void }) => tempDirOf(t, 'warren-nodes-cli-');

function registration(id: string): NodeRegistration {
  return {
    id, name: `host-${id}`, address: `10.1.0.${id.length}:7443`,
    capacity: { cpus: 8, memory_mb: 16_384, disk_mb: 100_000, max_workspaces: 20 }, labels: { zone: 'z1' }, version: '0.1.0',
    subnet: '10.214.0.0/24',
  };
}

const agoIso = (ms: number) => new Date(Date.now() - ms).toISOString();

/** Two nodes (n-a heartbeat 3 s ago with two workspaces, n-b lost an hour ago) in the store at `opts`. */
async function seed(opts: { dataDir: string; databaseUrl?: string }): Promise<void> {
  const store = await openStore(opts);
  try {
    await store.registerNode(registration('n-a'), agoIso(3_000));
    await store.registerNode(registration('n-b'), agoIso(3_600_000));
    await store.markNodesLost(agoIso(60_000));
    const cfg = { ...sampleWorkspace().config, cpus: 1.5, memory_mb: 2048, disk_size_mb: 4096 };
    await store.insertWorkspaces([sampleWorkspace({ nodeId: 'n-a', config: cfg }), sampleWorkspace({ nodeId: 'n-a', config: cfg })]);
  } finally {
    await store.close();
  }
}

/** The same operator session against whichever store `where` selects. */
function listDrainUndrain(where: string[]): void {
  const list = nodes(where);
  assert.equal(list.code, 0, list.err);
  const lines = list.out.trimEnd().split('\n');
  assert.match(lines[0]!, /^ID\s+NAME\s+STATE\s+HEARTBEAT\s+ADDRESS\s+CPUS\s+MEMORY_MB\s+DISK_MB\s+WORKSPACES$/);
  assert.match(lines[1]!, /^n-a\s+host-n-a\s+ready\s+[3-9]s ago\s+10\.1\.0\.3:7443\s+3\/8\s+4096\/16384\s+8192\/100000\s+2\/20$/);
  assert.match(lines[2]!, /^n-b\s+host-n-b\s+lost\s+1h ago\s+\S+\s+0\/8\s+0\/16384\s+0\/100000\s+0\/20$/);

  const json = nodes([...where, '--json']);
  assert.equal(json.code, 0, json.err);
  const parsed = JSON.parse(json.out) as Array<Record<string, any>>;
  assert.deepEqual(parsed.map((n) => [n.id, n.state, n.allocated.workspaces, n.capacity.cpus, n.labels.zone]),
    [['n-a', 'ready', 2, 8, 'z1'], ['n-b', 'lost', 0, 8, 'z1']]);
  assert.ok(parsed[0]!.heartbeat_age_ms >= 3_000 && parsed[0]!.heartbeat_age_ms < 60_000);

  const drain = nodes(['drain', 'n-a', ...where]);
  assert.equal(drain.code, 0, drain.err);
  assert.equal(drain.out, 'node n-a: draining\n');
  assert.match(nodes(where).out, /^n-a\s+host-n-a\s+draining\s/m);
  assert.equal(nodes(['undrain', 'n-a', ...where]).out, 'node n-a: ready\n');

  const unknown = nodes(['drain', 'nope', ...where]);
  assert.equal(unknown.code, 1);
  assert.match(unknown.err, /^warren: No node nope$/m);
  const lost = nodes(['drain', 'n-b', ...where]);
  assert.equal(lost.code, 1);
  assert.match(lost.err, /^warren: Node n-b is lost; it must register again first$/m);
}

test('ageText: seconds, minutes, hours, days', () => {
  assert.deepEqual([0, 59_999, 60_000, 250_000, 3_600_000, 7_500_000, 86_400_000, 100_000_000].map(ageText),
    ['0s', '59s', '1m', '4m10s', '1h', '2h5m', '1d', '1d3h']);
});

describe('warren nodes: SQLite', () => {
  test('list, --json, drain, undrain, unknown and lost nodes', async (t) => {
    const dir = tempDir(t);
    await seed({ dataDir: dir });
    listDrainUndrain(['--data-dir', dir]);
  });

  test('a single-host data dir lists no nodes; no database at all is an error, and no file is made', async (t) => {
    const dir = tempDir(t);
    const missing = nodes(['--data-dir', dir]);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /^warren: No Warren database at /);
    assert.equal(existsSync(join(dir, DB_FILE_NAME)), false);
    await (await openStore({ dataDir: dir })).close();
    const empty = nodes([], { WARREN_DATA_DIR: dir });
    assert.equal(empty.code, 0, empty.err);
    assert.match(empty.out, /^No nodes registered/);
    assert.equal(nodes(['--data-dir', dir, '--json']).out, '[]\n');
  });

  test('a database before the node registry asks for `warren migrate`; bad usage is refused', (t) => {
    const dir = tempDir(t);
    const db = new Database(join(dir, DB_FILE_NAME));
    runMigrations(db, MIGRATIONS.filter((m) => m.version < 11));
    db.close();
    const r = nodes(['--data-dir', dir]);
    assert.equal(r.code, 1);
    assert.match(r.err, /run `warren migrate` first/);
    const usage = nodes(['evict', 'n-a', '--data-dir', dir]);
    assert.equal(usage.code, 1);
    assert.match(usage.err, /warren nodes drain\|undrain <id>/);
  });
});

describe('warren nodes: PostgreSQL', () => {
  let pgs: TestPostgres;
  before(async () => { pgs = await startPostgres(); });
  after(async () => { await pgs?.stop(); });

  test('list, --json, drain, undrain, unknown and lost nodes', async () => {
    const url = await pgs.createDatabase();
    await seed({ dataDir: '/nonexistent', databaseUrl: url });
    listDrainUndrain(['--database-url', url]);
    assert.match(nodes([], { WARREN_DATABASE_URL: url }).out, /^n-a\s/m);
  });
});
