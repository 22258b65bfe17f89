/**
 * debootstrap of a minimal Debian into a directory, with the .deb cache shared by every
 * build in the images dir (`<imagesDir>/.debs`, serialised by `.debs.lock`) and its
 * progress forwarded line by line. Used for the catalog's base layer.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { acquireLock } from './lock.js';
import { BUILD_ENV } from './rootfs.js';

export const DEFAULT_DEBIAN_MIRROR = 'http://deb.debian.org/debian';
const SETPRIV = '/usr/bin/setpriv';

export type BuildPhase = 'wait' | 'prepare' | 'debootstrap' | 'install' | 'node' | 'verify' | 'finalize' | 'done';
export type Report = (phase: BuildPhase, message: string) => void;

export interface DebootstrapInput {
  suite: string;
  packages: string[];
  target: string;
  imagesDir: string;
  mirror?: string;
  report: Report;
}

/** Runs debootstrap (minbase + packages); on failure the error carries its log tail. */
export async function debootstrap(i: DebootstrapInput): Promise<void> {
  const cacheDir = join(i.imagesDir, '.debs');
  await mkdir(cacheDir, { recursive: true });
  await mkdir(i.target, { recursive: true });
  const mirror = i.mirror ?? process.env.WARREN_DEBIAN_MIRROR ?? DEFAULT_DEBIAN_MIRROR;
  const args = ['--variant=minbase', `--include=${i.packages.join(',')}`, `--cache-dir=${cacheDir}`, i.suite, i.target, mirror];
  const lock = await acquireLock(join(i.imagesDir, '.debs.lock'), {
    onWait: (pid) => i.report('wait', `waiting for pid ${pid} to finish using the package cache`),
  });
  try {
    await runDebootstrap(args, i);
  } finally {
    await lock.release();
  }
}

async function runDebootstrap(args: string[], i: DebootstrapInput): Promise<void> {
  i.report('debootstrap', `debootstrap ${args.join(' ')}`);
  // setpriv: debootstrap dies with this process instead of building on as an orphan.
  const [cmd, cmdArgs] = existsSync(SETPRIV) ? [SETPRIV, ['--pdeathsig', 'KILL', 'debootstrap', ...args]] : ['debootstrap', args];
  const child = spawn(cmd, cmdArgs, { env: { ...process.env, ...BUILD_ENV }, stdio: ['ignore', 'pipe', 'pipe'] });
  const tail: string[] = [];
  const onLine = (line: string) => {
    if (!line.trim()) return;
    tail.push(line);
    if (tail.length > 20) tail.shift();
    i.report('debootstrap', line);
  };
  createInterface({ input: child.stdout }).on('line', onLine);
  createInterface({ input: child.stderr }).on('line', onLine);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (c) => resolve(c));
  });
  if (code === 0) return;
  const log = await readFile(join(i.target, 'debootstrap', 'debootstrap.log'), 'utf8').catch(() => '');
  throw new Error(`debootstrap failed (exit ${code}):\n${tail.join('\n')}\n${log.split('\n').slice(-15).join('\n')}`.trim());
}
