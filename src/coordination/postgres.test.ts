/**
 * The PostgreSQL coordination passes the coordination contract with several coordinators over
 * one private database standing for replicas, and crash replicas in child processes (SIGKILL).
 */
import { after, before } from 'node:test';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { startPostgres, createMigratedDatabase, type TestPostgres } from '../../test/support/postgres.js';
import { runCoordinationContract, type ChildReplica, type CoordinationWorld } from './contract-suite.js';
import { PostgresCoordination } from './postgres.js';
import type { CoordinationPort } from '../domain/ports.js';

const LEASE_TTL_MS = 1_500;
const FIXTURE = fileURLToPath(new URL('./postgres-replica.fixture.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

let pgs: TestPostgres;
before(async () => { pgs = await startPostgres(); });
after(async () => { await pgs.stop(); });

/** A child replica; resolves once it printed a line starting with `ready`. */
async function child(url: string, args: string[], ready: string): Promise<ChildReplica> {
  const p = spawn(process.execPath, ['--import', 'tsx', FIXTURE, url, ...args, String(LEASE_TTL_MS)], {
    cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'],
  });
  const kill = () => { if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL'); };
  let out = '';
  p.stdout.setEncoding('utf8');
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`child replica not ${ready} in 20 s`)), 20_000);
      p.stdout.on('data', (d: string) => {
        out += d;
        if (out.split('\n').some((l) => l.startsWith(ready))) { clearTimeout(timer); resolve(); }
      });
      p.once('exit', (code) => { clearTimeout(timer); reject(new Error(`child replica exited (${code})`)); });
    });
  } catch (err) {
    kill();
    throw err;
  }
  return { kill };
}

async function world(replicas: number): Promise<CoordinationWorld> {
  const url = await createMigratedDatabase(pgs);
  // One client (queries queue on it), ended before the server stops: a pool's end resolves before its
  // sockets close, and a server shutdown meanwhile would raise on a client nobody listens to any more.
  const testPool = new pg.Client({ connectionString: url });
  testPool.on('error', () => {});
  await testPool.connect();
  await testPool.query('CREATE TABLE reserved (n SERIAL PRIMARY KEY)');
  const coords: CoordinationPort[] = [];
  const children: ChildReplica[] = [];
  const add = async () => {
    const c = await PostgresCoordination.open(url, { instanceId: `r${coords.length}`, leaseTtlMs: LEASE_TTL_MS });
    await c.start();
    coords.push(c);
    return c;
  };
  for (let i = 0; i < replicas; i += 1) await add();
  return {
    coords, add,
    counter: {
      read: async () => Number((await testPool.query<{ n: string }>('SELECT count(*) AS n FROM reserved')).rows[0]!.n),
      add: async () => void (await testPool.query('INSERT INTO reserved DEFAULT VALUES')),
    },
    crash: {
      leaseTtlMs: LEASE_TTL_MS,
      holdLease: async (id) => { const c = await child(url, ['hold', id], 'holding'); children.push(c); return c; },
      lead: async () => { const c = await child(url, ['lead', '-'], 'leader'); children.push(c); return c; },
      cutSessions: async (c) => {
        await testPool.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1',
          [`warren-coord ${c.instanceId}`]);
      },
    },
    async close() {
      for (const c of children) c.kill();
      for (const c of coords) await c.close();
      await testPool.end();
    },
  };
}

runCoordinationContract('postgres', { world });
