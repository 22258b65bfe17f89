/**
 * Starts a real Warren server (the compiled CLI, as a user would) for end-to-end
 * tests, each with its own data dir, bridge and subnet so test servers never
 * share kernel objects. `stop()` deletes its workspaces and purges everything the
 * instance made (sandboxes, bridge, firewall tables), even after a failure.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TEST_IMAGES_DIR } from './images.js';
import { responseLogDir } from './response-log.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CLI = join(ROOT, 'dist', 'cli', 'warren.js');
export const ADMIN = { clientId: 'test-admin', clientSecret: 'test-secret-0123456789' };

export interface TestServer {
  url: string;
  port: number;
  dataDir: string;
  bridge: string;
  subnet: string;
  proc: ChildProcess;
  logs: string[];
  /** Starts the same instance again (after kill or stop) on the same data dir; `env` replaces the start options' env. */
  restart(env?: Record<string, string>): Promise<void>;
  /** SIGKILL: no cleanup, as a crash. */
  kill(): Promise<void>;
  /** SIGTERM, as an operator stops it; resolves with the exit code. */
  terminate(): Promise<number | null>;
  stop(): Promise<void>;
}

function freeSubnet(): string {
  const b = randomBytes(2);
  return `10.${200 + (b[0]! % 50)}.${b[1]}.0/24`;
}

export interface StartOptions {
  env?: Record<string, string>;
  /** Workspace subnet (default: a random free-looking /24). */
  subnet?: string;
  /** Bridge name (default: a random one of this server's own); tests of bridge ownership share one. */
  bridge?: string;
  /** Data dir to serve (default: a new temporary one); removed by stop() like the default. */
  dataDir?: string;
  /** `--database-url`: the PostgreSQL store on this database (test/support/postgres.ts) instead of SQLite. */
  databaseUrl?: string;
}

export async function startServer(opts: StartOptions = {}): Promise<TestServer> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'warren-e2e-'));
  const bridge = opts.bridge ?? `wt${randomBytes(3).toString('hex')}`;
  const subnet = opts.subnet ?? freeSubnet();
  const logs: string[] = [];
  const server: TestServer = {
    url: '', port: 0, dataDir, bridge, subnet, proc: null as unknown as ChildProcess, logs,
    restart: (env) => launch(env),
    kill: async () => {
      const p = server.proc;
      if (p.exitCode !== null || p.signalCode !== null) return;
      const done = new Promise((r) => p.once('exit', r));
      p.kill('SIGKILL');
      await done;
    },
    terminate: async () => {
      const p = server.proc;
      if (p.exitCode !== null || p.signalCode !== null) return p.exitCode;
      const done = new Promise<number | null>((r) => p.once('exit', (code) => r(code)));
      p.kill('SIGTERM');
      return done;
    },
    stop: async () => {
      await server.kill();
      spawnSync(process.execPath, [CLI, 'purge', '--data-dir', dataDir, '--bridge', bridge, '--yes'], { stdio: 'ignore' });
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  async function launch(envOverride?: Record<string, string>): Promise<void> {
    const port = server.port;
    const extraEnv = envOverride ?? opts.env;
    const proc = spawn(process.execPath, [CLI, 'serve', '--port', String(port), '--data-dir', dataDir,
      '--images-dir', TEST_IMAGES_DIR, '--bridge', bridge, '--subnet', subnet,
      ...(opts.databaseUrl ? ['--database-url', opts.databaseUrl] : [])], {
      // Tests never route workspace traffic off this machine: no upstream and no resolver
      // unless a test points them at namespaces of its own.
      env: {
        ...process.env, WARREN_ADMIN_CLIENT_ID: ADMIN.clientId, WARREN_ADMIN_CLIENT_SECRET: ADMIN.clientSecret,
        // The warm pool is off unless a test turns it on (test/e2e/warm-pool.test.ts): its
        // background boots would otherwise add sandboxes to every test's host.
        WARREN_UPSTREAM: 'none', WARREN_DNS_UPSTREAM: 'none', WARREN_WARM_POOL: '0',
        // Every JSON response goes to a log that test/zz-contract/ checks against the OpenAPI document.
        WARREN_TEST_RESPONSE_LOG: join(responseLogDir(), `${dataDir.split('/').pop()}.jsonl`), ...extraEnv,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    server.proc = proc;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`warren did not start:\n${logs.slice(-20).join('\n')}`)), 120_000);
      const onLine = (chunk: Buffer) => {
        for (const line of chunk.toString().split('\n')) {
          if (!line) continue;
          logs.push(line);
          if (logs.length > 2000) logs.shift();
          if (line.includes('warren is listening')) {
            const m = /"port":(\d+)/.exec(line);
            server.port = Number(m?.[1]);
            server.url = `http://127.0.0.1:${server.port}`;
            clearTimeout(timer);
            resolve();
          }
        }
      };
      proc.stdout!.on('data', onLine);
      proc.stderr!.on('data', onLine);
      proc.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`warren exited with ${code}:\n${logs.slice(-30).join('\n')}`));
      });
    });
  }
  try {
    await launch();
  } catch (err) {
    await server.stop();
    throw err;
  }
  return server;
}

/** Authenticated control-plane request helper for tests that speak HTTP directly. */
export async function api(server: TestServer, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(server.url + path, {
    method,
    headers: {
      'content-type': 'application/json',
      'x-client-id': ADMIN.clientId,
      'x-client-secret': ADMIN.clientSecret,
      ...headers,
    },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = null;
  }
  return { status: res.status, body: json, text };
}
