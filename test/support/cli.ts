/**
 * The unmodified `oblien` CLI and `oblien-mcp` against a test server
 * (clients.md §5.2: credentials and base URL from the environment, an isolated HOME
 * so ~/.oblien is never the user's).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ADMIN, ROOT, type TestServer } from './warren.js';

const run = promisify(execFile);
const BIN = join(ROOT, 'node_modules', '.bin');

export interface CliHarness {
  env(): NodeJS.ProcessEnv;
  /** Runs `oblien args…`; resolves with stdout, rejects on a non-zero exit. */
  cli(...args: string[]): Promise<string>;
  cleanup(): void;
}

export function cliHarness(server: () => TestServer): CliHarness {
  const home = mkdtempSync(join(tmpdir(), 'warren-cli-home-'));
  const env = () => ({
    ...process.env, HOME: home, OBLIEN_CLIENT_ID: ADMIN.clientId, OBLIEN_CLIENT_SECRET: ADMIN.clientSecret,
    OBLIEN_BASE_URL: server().url,
  });
  return {
    env,
    async cli(...args: string[]) {
      const { stdout } = await run(join(BIN, 'oblien'), args, { env: env(), timeout: 60_000 });
      return stdout;
    },
    cleanup: () => rmSync(home, { recursive: true, force: true }),
  };
}
