/**
 * `warren serve --database-url` on a private PostgreSQL (issue 16 item 1): the official
 * client creates a workspace, execs in it, sets metadata and exposes a port; the server is
 * stopped (SIGTERM) and started again on the same database and data dir, and the workspace
 * is listed, runs, answers exec and its exposure routes — all of it read back from
 * PostgreSQL (no SQLite file is made). Bad database URLs fail start-up: exit 1 with one
 * line naming host, port and database and what failed, never the password; so does a
 * database whose schema is newer than this build.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, startServer, type TestServer } from '../support/warren.js';
import { ensureTestImages } from '../support/images.js';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { adminClient, openRuntime, until, waitForStatus, type Client } from '../support/workspaces.js';

const APP_PORT = 18000 + Math.floor(Math.random() * 1000);
const APP = `require('http').createServer((q, r) => r.end('pg-app ' + q.url)).listen(Number(process.argv[1]), '0.0.0.0');`;

describe('warren serve on PostgreSQL', () => {
  let pgs: TestPostgres;
  let server: TestServer;
  let client: Client;
  let dbUrl: string;

  before(async () => {
    await ensureTestImages(['node-20']);
    pgs = await startPostgres();
    dbUrl = await pgs.createDatabase();
    server = await startServer({ databaseUrl: dbUrl });
    client = adminClient(server);
  });
  after(async () => {
    await server?.stop();
    await pgs?.stop();
  });

  const viaPath = async (slug: string, path: string) => {
    const res = await fetch(`${server.url}/p/${slug}${path}`);
    return { status: res.status, text: await res.text() };
  };

  test('create, exec, metadata, expose; SIGTERM and start again on the same database: listed, running, reachable', async () => {
    const ws = await client.workspaces.create({ image: 'node-20', name: 'on-postgres', memory_mb: 256 });
    await waitForStatus(server, ws.id, 'running');
    let rt = await openRuntime(client, server, ws.id);
    const hello = await rt.exec.run(['sh', '-c', 'echo hello-from-pg']);
    assert.equal(hello.exit_code, 0);
    assert.equal(hello.stdout.trim(), 'hello-from-pg');
    await client.workspaces.metadata.update(ws.id, { metadata: { team: 'fleet', store: 'postgres' } });
    const started = await rt.exec.run(['sh', '-c', `node -e "$0" ${APP_PORT} > /tmp/app.log 2>&1 &`, APP], { execMode: 'direct' });
    assert.equal(started.exit_code, 0, JSON.stringify(started));
    const exposed = (await client.workspaces.publicAccess.expose(ws.id, { port: APP_PORT, label: 'pg app' })) as any;
    const slug = exposed.hash as string;
    const first = await until('the app through the edge', async () => {
      const r = await viaPath(slug, '/one');
      return r.status === 200 && r;
    });
    assert.equal(first.text, 'pg-app /one');

    // The records are in PostgreSQL, and nowhere else.
    const rows = await pgs.query<{ id: string; metadata: string }>(dbUrl, 'SELECT id, metadata FROM workspaces');
    assert.deepEqual(rows.map((r) => r.id), [ws.id]);
    assert.deepEqual(JSON.parse(rows[0]!.metadata), { team: 'fleet', store: 'postgres' });
    assert.equal((await pgs.query(dbUrl, 'SELECT slug FROM public_ports'))[0]?.slug, slug);
    assert.equal(existsSync(join(server.dataDir, 'warren.db')), false, 'no SQLite database in the data dir');
    // The record carries the server's kept id (data dir `node-id`), the same after a restart: the server owns it again.
    const keptId = `n${readFileSync(join(server.dataDir, 'node-id')).toString('hex')}`;
    assert.equal((await pgs.query<{ node_id: string }>(dbUrl, 'SELECT node_id FROM workspaces'))[0]?.node_id, keptId);

    assert.equal(await server.terminate(), 0);
    await server.restart();
    client = adminClient(server);

    const listed = (await client.workspaces.list()) as any;
    const items: any[] = listed.workspaces ?? listed.data ?? listed;
    assert.deepEqual(items.map((w) => w.id), [ws.id]);
    await waitForStatus(server, ws.id, 'running');
    const meta = (await client.workspaces.metadata.get(ws.id)) as any;
    assert.deepEqual(meta.metadata ?? meta, { team: 'fleet', store: 'postgres' });
    rt = await openRuntime(client, server, ws.id);
    const again = await rt.exec.run(['sh', '-c', 'echo still-here']);
    assert.equal(again.stdout.trim(), 'still-here');
    const ports = (await client.workspaces.publicAccess.list(ws.id)) as any[];
    assert.deepEqual(ports.map((p) => [p.port, p.hash]), [[APP_PORT, slug]]);
    const second = await until('the app through the edge after the restart', async () => {
      const r = await viaPath(slug, '/two');
      return r.status === 200 && r;
    });
    assert.equal(second.text, 'pg-app /two');
    await client.workspaces.delete(ws.id);
  });
});

describe('warren serve: a bad database URL is a one-line start-up error', () => {
  let pgs: TestPostgres;
  before(async () => { pgs = await startPostgres(); });
  after(async () => { await pgs?.stop(); });

  const SECRET = 'pw-e2e-secret';

  /** `warren serve` with `url`; its exit code and stderr. Everything it made is purged. */
  function serveWith(url: string, t: { after(fn: () => void): void }): { code: number | null; stderr: string; ms: number } {
    const dataDir = mkdtempSync(join(tmpdir(), 'warren-e2e-pgbad-'));
    const bridge = `wt${randomBytes(3).toString('hex')}`;
    t.after(() => {
      spawnSync(process.execPath, [CLI, 'purge', '--data-dir', dataDir, '--bridge', bridge, '--yes'], { stdio: 'ignore' });
      rmSync(dataDir, { recursive: true, force: true });
    });
    const b = randomBytes(2);
    const started = Date.now();
    const r = spawnSync(process.execPath, [CLI, 'serve', '--port', '0', '--data-dir', dataDir, '--bridge', bridge,
      '--subnet', `10.${200 + (b[0]! % 50)}.${b[1]}.0/24`, '--database-url', url], {
      encoding: 'utf8', timeout: 60_000,
      env: { ...process.env, WARREN_UPSTREAM: 'none', WARREN_DNS_UPSTREAM: 'none', WARREN_WARM_POOL: '0' },
    });
    return { code: r.status, stderr: r.stderr, ms: Date.now() - started };
  }

  const closedPort = () => new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });

  test('refused, no such database, authentication failed, not a URL, a schema newer than this build', async (t) => {
    const port = await closedPort();
    const newer = await pgs.createDatabase();
    await pgs.query(newer, 'CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
    await pgs.query(newer, "INSERT INTO schema_migrations VALUES (999, 'future', '2099-01-01T00:00:00Z')");
    const newerUrl = newer.replace('postgres://warren@', `postgres://warren:${SECRET}@`);
    const cases: Array<[string, RegExp]> = [
      [`postgres://warren:${SECRET}@127.0.0.1:${port}/fleet`, new RegExp(`127\\.0\\.0\\.1:${port}, database "fleet".*: connection refused$`)],
      [`postgres://warren:${SECRET}@127.0.0.1:${pgs.port}/missing_db`, new RegExp(`127\\.0\\.0\\.1:${pgs.port}, database "missing_db".*: no such database$`)],
      [`postgresql://intruder:${SECRET}@127.0.0.1:${pgs.port}/postgres`, /database "postgres" \(user "intruder"\): authentication failed$/],
      [`postgres://warren:${SECRET}@127.0.0.1:port/x`, /not a valid/],
      [newerUrl, /Database schema version 999 is not known to this build of Warren/],
    ];
    for (const [url, want] of cases) {
      const r = serveWith(url, t);
      assert.equal(r.code, 1, r.stderr);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0]!, /^warren: /);
      assert.match(lines[0]!, want);
      assert.doesNotMatch(r.stderr, new RegExp(SECRET));
      assert.ok(r.ms < 30_000, `failed in bounded time (${r.ms} ms)`);
    }
  });
});
