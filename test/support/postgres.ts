/**
 * A private PostgreSQL server for one test file (issue 16): Debian's PostgreSQL 15 binaries,
 * a cluster made by initdb in a fresh temporary directory, listening on loopback at a free
 * port, owned by the `postgres` system user (the server refuses to run as root). Never a
 * shared server: each `startPostgres()` is its own cluster, removed by `stop()` and, should
 * the test process die first, by the exit hook.
 *
 * Durability is traded for speed (fsync off, no full-page writes): these clusters only
 * live as long as a test file. `createDatabase()` gives each test a database of its own.
 *
 * `listenAddresses` (test/support/fleet.ts) adds host addresses to listen on besides loopback —
 * the host ends of the veths that join node namespaces to this host — and `trustNetworks`
 * trusts those networks in pg_hba, so a node daemon inside its namespace reaches the database.
 * Those addresses must exist before the server starts (it binds them at start-up).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, chownSync, mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './free-port.js';

const BIN = '/usr/lib/postgresql/15/bin';
const SUPERUSER = 'warren';

export interface TestPostgres {
  /** `postgres://warren@127.0.0.1:<port>/postgres` (trust auth on loopback). */
  readonly adminUrl: string;
  readonly port: number;
  /** A new empty database; its URL. */
  createDatabase(name?: string): Promise<string>;
  /** Runs one SQL statement on a database URL (test set-up and inspection). */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(url: string, sql: string, params?: unknown[]): Promise<R[]>;
  /** Kills the server (SIGKILL) and leaves the directory: for crash tests that restart it. */
  kill(): void;
  /** Starts the server again on the same directory and port after `kill()`. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** Whether this machine has the server binaries (the setup script's `--tests` installs them). */
export function postgresAvailable(): boolean {
  return existsSync(join(BIN, 'postgres')) && existsSync(join(BIN, 'initdb'));
}


/** The `postgres` system user's ids: the server refuses to run as root. */
function postgresUser(): { uid: number; gid: number } {
  const id = (flag: string) => spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' });
  const u = id('-u');
  const g = id('-g');
  if (u.status !== 0 || g.status !== 0) throw new Error("test postgres: no 'postgres' system user (scripts/setup.sh --tests installs it)");
  return { uid: Number(u.stdout.trim()), gid: Number(g.stdout.trim()) };
}

function initCluster(dir: string): void {
  const r = spawnSync(join(BIN, 'initdb'), ['-D', join(dir, 'data'), '-A', 'trust', '-U', SUPERUSER, '-E', 'UTF8',
    '--no-sync', '--no-instructions'], { encoding: 'utf8', cwd: dir, ...postgresUser() });
  if (r.status !== 0) throw new Error(`test postgres: initdb failed: ${r.stderr}`);
}

/** pg_hba lines trusting `networks` (initdb's file already trusts loopback). */
function trustNetworks(dir: string, networks: readonly string[]): void {
  if (networks.length === 0) return;
  appendFileSync(join(dir, 'data', 'pg_hba.conf'), networks.map((n) => `host all all ${n} trust\n`).join(''));
}

/** The postmaster itself is the child (no runuser in between), so its PID is the one to signal. */
function spawnServer(dir: string, port: number, listen: readonly string[]): ChildProcess {
  const args = ['-D', join(dir, 'data'), '-p', String(port),
    '-c', `listen_addresses=${listen.join(',')}`, '-c', `unix_socket_directories=${dir}`, '-c', 'fsync=off',
    '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=200',
    '-c', 'shared_buffers=32MB', '-c', 'logging_collector=off'];
  const child = spawn(join(BIN, 'postgres'), args, { stdio: ['ignore', 'ignore', 'pipe'], cwd: dir, ...postgresUser() });
  child.stderr?.resume();
  return child;
}

async function waitReady(url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`test postgres: the server exited (${child.exitCode})`);
    const c = new pg.Client({ connectionString: url });
    try {
      await c.connect();
      await c.end();
      return;
    } catch {
      await c.end().catch(() => {});
      if (Date.now() > deadline) throw new Error('test postgres: the server did not accept connections in 20 s');
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** Ends the server by its PID (the postmaster's). */
function killServer(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.exitCode === null && child.pid) {
    try {
      process.kill(child.pid, signal);
    } catch {
      /* already gone */
    }
  }
}

async function exited(child: ChildProcess, ms: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const t = setTimeout(() => {
      killServer(child, 'SIGKILL');
      resolve();
    }, ms);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
  });
}

export interface PostgresOptions {
  /** Extra addresses to listen on (IPv4, already configured on this host). */
  listenAddresses?: readonly string[];
  /** Networks (CIDR) whose clients are trusted, like loopback is. */
  trustNetworks?: readonly string[];
}

const IPV4 = /^(\d{1,3}\.){3}\d{1,3}$/;
const CIDR4 = /^(\d{1,3}\.){3}\d{1,3}\/\d{1,2}$/;

/** `postgres://…@host:port/db` of `url` with another host: how a node in a namespace names this server. */
export function withHost(url: string, host: string): string {
  const u = new URL(url);
  u.hostname = host;
  return u.toString();
}

export async function startPostgres(opts: PostgresOptions = {}): Promise<TestPostgres> {
  const listen = ['127.0.0.1', ...(opts.listenAddresses ?? [])];
  const trust = opts.trustNetworks ?? [];
  for (const a of listen) if (!IPV4.test(a)) throw new Error(`test postgres: not an IPv4 address: ${a}`);
  for (const n of trust) if (!CIDR4.test(n)) throw new Error(`test postgres: not an IPv4 network: ${n}`);
  const dir = mkdtempSync(join(tmpdir(), 'warren-pg-'));
  const user = postgresUser();
  chownSync(dir, user.uid, user.gid);
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  let child: ChildProcess | null = null;
  const onExit = () => {
    if (child) killServer(child, 'SIGKILL');
    removeDir();
  };
  process.once('exit', onExit);
  try {
    initCluster(dir);
    trustNetworks(dir, trust);
    const port = await freePort();
    const adminUrl = `postgres://${SUPERUSER}@127.0.0.1:${port}/postgres`;
    child = spawnServer(dir, port, listen);
    await waitReady(adminUrl, child);
    // The server only warns when it cannot bind an address: check each one answers.
    for (const a of listen.slice(1)) await waitReady(withHost(adminUrl, a), child);
    let counter = 0;
    const query = async <R extends pg.QueryResultRow>(url: string, sql: string, params: unknown[] = []): Promise<R[]> => {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        return (await c.query<R>(sql, params)).rows;
      } finally {
        await c.end();
      }
    };
    return {
      adminUrl,
      port,
      query,
      async createDatabase(name = `t${process.pid}_${++counter}`) {
        await query(adminUrl, `CREATE DATABASE "${name.replace(/"/g, '')}"`);
        return `postgres://${SUPERUSER}@127.0.0.1:${port}/${encodeURIComponent(name)}`;
      },
      kill() {
        if (child) killServer(child, 'SIGKILL');
      },
      async restart() {
        if (child) await exited(child, 5_000);
        child = spawnServer(dir, port, listen);
        await waitReady(adminUrl, child);
      },
      async stop() {
        if (child) {
          killServer(child, 'SIGINT'); // fast shutdown: ends sessions, no checkpoint wait on a throwaway cluster
          await exited(child, 10_000);
        }
        process.removeListener('exit', onExit);
        removeDir();
      },
    };
  } catch (err) {
    if (child) {
      killServer(child, 'SIGKILL');
      await exited(child, 5_000);
    }
    process.removeListener('exit', onExit);
    removeDir();
    throw err;
  }
}

/** A new database with the store's migrations applied (what `warren migrate` or a store's start makes). */
export async function createMigratedDatabase(pgs: TestPostgres): Promise<string> {
  const url = await pgs.createDatabase();
  const { runPgMigrations } = await import('../../src/store/postgres-migrations.js');
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  pool.on('error', () => {});
  try {
    await runPgMigrations(pool);
  } finally {
    await pool.end();
  }
  return url;
}
