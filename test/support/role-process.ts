/**
 * A `warren node` / `warren control` process on this host for the roles tests
 * (test/e2e/roles.test.ts, test/e2e/fleet-warm-pool.test.ts): spawned with the test
 * environment (no traffic off the machine, no warm pool unless asked, the test admin key),
 * ready once a JSON log line contains a marker. The fleet harness in namespaces is
 * test/support/fleet.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { ADMIN, CLI, type TestServer } from './warren.js';
import { TEST_IMAGES_DIR } from './images.js';

export const ROLE_ENV: NodeJS.ProcessEnv = {
  ...process.env, WARREN_ADMIN_CLIENT_ID: ADMIN.clientId, WARREN_ADMIN_CLIENT_SECRET: ADMIN.clientSecret,
  WARREN_UPSTREAM: 'none', WARREN_DNS_UPSTREAM: 'none', WARREN_WARM_POOL: '0', WARREN_SSH_PORT: '0',
};

export interface RoleProc {
  proc: ChildProcess;
  /** Its log lines (the last 3,000). */
  logs: string[];
  /** The JSON of the first log line that contained the marker. */
  ready: Record<string, unknown>;
}

/** Starts `warren <args>` and resolves once a JSON log line contains `marker` (3 min at most). */
export function launchRole(args: string[], marker: string, env: NodeJS.ProcessEnv = ROLE_ENV): Promise<RoleProc> {
  const proc = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: string[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${args[0]} did not start:\n${logs.slice(-30).join('\n')}`)), 180_000);
    const onData = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) {
        if (!line) continue;
        logs.push(line);
        if (logs.length > 3000) logs.shift();
        if (line.includes(marker) && line.startsWith('{')) {
          clearTimeout(timer);
          resolve({ proc, logs, ready: JSON.parse(line) as Record<string, unknown> });
        }
      }
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${args[0]} exited with ${code}:\n${logs.slice(-30).join('\n')}`));
    });
  });
}

/** SIGKILL by PID and wait for the exit (no-op when it already ended). */
export async function killRole(p: RoleProc | undefined): Promise<void> {
  if (!p || p.proc.exitCode !== null || p.proc.signalCode !== null) return;
  const done = new Promise((r) => p.proc.once('exit', r));
  p.proc.kill('SIGKILL');
  await done;
}

/** `warren control` on this host's loopback, any free port, over `databaseUrl`. */
export function controlArgs(databaseUrl: string, dataDir: string): string[] {
  return ['control', '--database-url', databaseUrl, '--data-dir', dataDir, '--images-dir', TEST_IMAGES_DIR, '--host', '127.0.0.1', '--port', '0'];
}

/** The API origin of a started control replica (the port its ready line names). */
export function serverOf(p: RoleProc): TestServer {
  const port = Number(p.ready.port);
  return { url: `http://127.0.0.1:${port}`, port } as TestServer;
}
