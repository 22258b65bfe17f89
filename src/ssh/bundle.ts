/**
 * The relocatable OpenSSH server bound read-only into every sandbox at /.warren/ssh
 * (`--ro-bind-try`, src/drivers/ns/bwrap-args.ts): the host's Debian `sshd` and
 * `sftp-server` (installed by scripts/setup.sh, never run on the host) as an ELF bundle
 * (src/storage/elf-bundle.ts: every library and the loader copied, interpreter and RPATH
 * pointed at /.warren/ssh/lib). A workspace's image needs neither OpenSSH nor matching
 * libraries, and sshd can re-execute itself by its in-sandbox path.
 *
 * Layout under `<data dir>/ssh/`: `bundle-<hash>/` per version of the host's binaries and
 * the symlink `bundle` → the current one (see elf-bundle.ts).
 */
import { existsSync } from 'node:fs';
import { ensureElfBundle, type ElfBundleRecipe } from '../storage/elf-bundle.js';

export const HOST_SSHD = '/usr/sbin/sshd';
export const HOST_SFTP_SERVER = '/usr/lib/openssh/sftp-server';
/** Where the bundle appears inside a sandbox (the agent runs `${SSH_IN_SANDBOX}/sshd`). */
export const SSH_IN_SANDBOX = '/.warren/ssh';

export type BundleLog = (level: 'info' | 'warn', msg: string, fields?: Record<string, unknown>) => void;

const RECIPE: ElfBundleRecipe = {
  format: 'warren-ssh-bundle-1',
  mount: SSH_IN_SANDBOX,
  files: [
    { src: HOST_SSHD, name: 'sshd', kind: 'program' },
    { src: HOST_SFTP_SERVER, name: 'sftp-server', kind: 'program' },
  ],
};

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
  try {
    const bundle = await ensureElfBundle(root, RECIPE);
    if (bundle.built) log('info', 'built the sshd bundle for workspaces', { version: bundle.version });
    return bundle.link;
  } catch (err) {
    log('warn', 'could not build the sshd bundle (is patchelf installed?); SSH is unavailable', { err: String(err) });
    return null;
  }
}
