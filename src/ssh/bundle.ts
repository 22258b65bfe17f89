/**
 * The relocatable OpenSSH server bound read-only into every sandbox at /.warren/ssh
 * (`--ro-bind-try`, src/drivers/ns/bwrap-args.ts): the host's Debian `sshd` and
 * `sftp-server` (installed by scripts/setup.sh, never run on the host), every shared
 * library they load and the dynamic loader, with the binaries' interpreter and RPATH
 * pointed at /.warren/ssh/lib (patchelf). A workspace's image needs neither OpenSSH nor
 * matching libraries, and sshd can re-execute itself by its in-sandbox path.
 *
 * Layout under `<data dir>/ssh/`: `bundle-<hash>/` per version of the host's binaries
 * (built once, complete when its `.complete` marker exists) and the symlink `bundle` →
 * the current one. A sandbox binds the directory the link named at its start, so an
 * upgrade of the host's openssh never changes files under a running sshd; old versions
 * are left in place.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { run } from '../util/exec.js';

export const HOST_SSHD = '/usr/sbin/sshd';
export const HOST_SFTP_SERVER = '/usr/lib/openssh/sftp-server';
/** Where the bundle appears inside a sandbox (the agent runs `${SSH_IN_SANDBOX}/sshd`). */
export const SSH_IN_SANDBOX = '/.warren/ssh';
const COMPLETE = '.complete';
/** Bumped when the bundle's layout changes, so old data dirs rebuild. */
const FORMAT = 'warren-ssh-bundle-1';

export type BundleLog = (level: 'info' | 'warn', msg: string, fields?: Record<string, unknown>) => void;

/** Absolute paths of the shared libraries `binary` loads (ldd), and its interpreter. */
async function librariesOf(binary: string): Promise<{ libs: string[]; interpreter: string }> {
  const interpreter = (await run('patchelf', ['--print-interpreter', binary])).stdout.trim();
  const { stdout } = await run('ldd', [binary]);
  const libs = new Set<string>();
  for (const line of stdout.split('\n')) {
    const m = /=>\s+(\/\S+)\s+\(/.exec(line);
    if (m) libs.add(m[1]!);
  }
  return { libs: [...libs], interpreter };
}

async function versionOf(): Promise<string> {
  const h = createHash('sha256').update(FORMAT);
  for (const f of [HOST_SSHD, HOST_SFTP_SERVER]) h.update(await readFile(f));
  return h.digest('hex').slice(0, 12);
}

async function build(dir: string): Promise<void> {
  const tmp = `${dir}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(join(tmp, 'lib'), { recursive: true, mode: 0o755 });
  const libs = new Set<string>();
  let interpreter = '';
  for (const [src, name] of [[HOST_SSHD, 'sshd'], [HOST_SFTP_SERVER, 'sftp-server']] as const) {
    const deps = await librariesOf(src);
    deps.libs.forEach((l) => libs.add(l));
    interpreter = deps.interpreter;
    await copyFile(src, join(tmp, name));
  }
  libs.add(interpreter);
  for (const lib of libs) await copyFile(lib, join(tmp, 'lib', basename(lib))); // copyFile follows the symlinks
  const lib = `${SSH_IN_SANDBOX}/lib`;
  for (const name of ['sshd', 'sftp-server']) {
    // DT_RPATH (not RUNPATH) also applies to the libraries' own dependencies.
    await run('patchelf', ['--set-interpreter', `${lib}/${basename(interpreter)}`, '--force-rpath', '--set-rpath', lib, join(tmp, name)]);
    await chmod(join(tmp, name), 0o755);
  }
  await chmod(tmp, 0o755);
  await writeFile(join(tmp, COMPLETE), `${FORMAT}\n`);
  await rm(dir, { recursive: true, force: true });
  await rename(tmp, dir);
}

/**
 * Builds the bundle of the host's current sshd if needed and points `<root>/bundle` at
 * it; returns that stable path, or null (logged) when the host has no openssh-server or
 * patchelf — workspaces then report SSH as unsupported. Idempotent and cheap when current.
 */
export async function ensureSshBundle(root: string, log: BundleLog): Promise<string | null> {
  if (!existsSync(HOST_SSHD) || !existsSync(HOST_SFTP_SERVER)) {
    log('warn', 'openssh-server is not installed on the host (scripts/setup.sh installs it); SSH is unavailable');
    return null;
  }
  const link = join(root, 'bundle');
  try {
    await mkdir(root, { recursive: true, mode: 0o755 });
    const name = `bundle-${await versionOf()}`;
    if (!existsSync(join(root, name, COMPLETE))) {
      await build(join(root, name));
      log('info', 'built the sshd bundle for workspaces', { version: name });
    }
    const tmpLink = `${link}.tmp-${process.pid}`;
    await rm(tmpLink, { force: true });
    await symlink(name, tmpLink);
    await rename(tmpLink, link);
    return link;
  } catch (err) {
    log('warn', 'could not build the sshd bundle (is patchelf installed?); SSH is unavailable', { err: String(err) });
    return null;
  }
}
