/**
 * The compiled `warren` CLI as an operator runs it, for the tests of its store commands
 * (`warren migrate`, `warren nodes`): the store selection comes only from the arguments and
 * `env` (WARREN_DATABASE_URL / WARREN_DATA_DIR of the test's own environment are dropped).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI } from './warren.js';

export interface CliRun {
  code: number | null;
  out: string;
  err: string;
}

export function runWarren(args: string[], env: Record<string, string> = {}): CliRun {
  const { WARREN_DATABASE_URL: _url, WARREN_DATA_DIR: _dir, ...base } = process.env;
  const r = spawnSync(process.execPath, [CLI, ...args], { env: { ...base, ...env }, encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** A temporary directory removed after the test. */
export function tempDir(t: { after(fn: () => void): void }, prefix = 'warren-cli-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
