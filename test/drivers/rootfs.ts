/**
 * Test root filesystem for driver tests. Prefers the shared Debian 12 image built by
 * the images engineer; otherwise debootstraps a minbase Debian once into
 * /var/cache/warren-test/driver-rootfs (≈40 s, cached). Parallel test runs coordinate
 * through an exclusive lock file; the build goes to a temp dir and is renamed into place
 * so a half-built tree is never used.
 */
import { existsSync, openSync, closeSync, writeSync, readFileSync, rmSync, renameSync, writeFileSync, mkdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { run } from '../../src/util/exec.js';

const SHARED_IMAGE = '/var/cache/warren-test/images/debian-12/rootfs';
const CACHE = '/var/cache/warren-test';
const OWN = join(CACHE, 'driver-rootfs');
const READY = '.warren-ready';
const LOCK = join(CACHE, 'driver-rootfs.lock');

function usable(dir: string): boolean {
  return existsSync(join(dir, 'usr/bin/sh')) && existsSync(join(dir, 'etc/os-release'));
}

function pidAlive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

/** Takes the lock or returns false; a lock whose owner died is broken. */
function tryLock(): boolean {
  try {
    const fd = openSync(LOCK, 'wx');
    writeSync(fd, String(process.pid));
    closeSync(fd);
    return true;
  } catch {
    const owner = Number(readFileSync(LOCK, 'utf8').trim() || '0');
    if (owner > 0 && !pidAlive(owner)) rmSync(LOCK, { force: true });
    return false;
  }
}

async function build(): Promise<void> {
  const tmp = `${OWN}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  await run('debootstrap', [
    '--variant=minbase', '--include=iproute2,procps', 'bookworm', tmp, 'http://deb.debian.org/debian',
  ], { timeoutMs: 600_000 });
  writeFileSync(join(tmp, READY), new Date().toISOString());
  rmSync(OWN, { recursive: true, force: true });
  renameSync(tmp, OWN);
}

/** Returns a host directory usable as `spec.image.rootfs`, building it if needed. */
export async function testRootfs(): Promise<string> {
  if (usable(SHARED_IMAGE)) return SHARED_IMAGE;
  mkdirSync(CACHE, { recursive: true });
  const deadline = Date.now() + 10 * 60_000;
  while (!existsSync(join(OWN, READY))) {
    if (Date.now() > deadline) throw new Error('timed out waiting for the test rootfs build');
    if (tryLock()) {
      try {
        if (!existsSync(join(OWN, READY))) await build();
      } finally {
        rmSync(LOCK, { force: true });
      }
    } else {
      await sleep(500);
    }
  }
  return OWN;
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop() ?? '')) {
  testRootfs().then((dir) => console.log(dir));
}
