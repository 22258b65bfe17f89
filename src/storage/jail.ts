/**
 * Runs a host tool (tar, find) over a workspace's files without trusting them. The files
 * are the workspace's to shape — a symlink `etc -> /etc`, then `etc/passwd` — and a tool
 * run on the host would follow such links into the host. So the tool runs in a
 * bubblewrap jail whose root holds only the host's programs and shared libraries,
 * read-only, and the workspace tree at /target: every link resolves inside the jail,
 * where there is nothing of the host but public binaries. The jail keeps root's file
 * capabilities (owners, device whiteouts and trusted.* xattrs must round-trip) and has
 * no network.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export const JAIL_TARGET = '/target';
/** Debian's multiarch library directory of this host (tar, find and sh link only against libraries there). */
const LIB_ARCH = `${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu`;

/** Capabilities tar needs to write a layer faithfully; everything else is dropped. */
const KEEP_CAPS = ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_MKNOD',
  'CAP_SYS_ADMIN', 'CAP_SETFCAP'];

export function jailArgs(targetDir: string, writable: boolean): string[] {
  const args = ['--unshare-pid', '--unshare-net', '--unshare-ipc', '--unshare-uts', '--die-with-parent', '--new-session',
    '--ro-bind', '/usr/bin', '/usr/bin', '--ro-bind', `/usr/lib/${LIB_ARCH}`, `/usr/lib/${LIB_ARCH}`,
    '--ro-bind', '/usr/lib64', '/usr/lib64', '--symlink', 'usr/lib', '/lib', '--symlink', 'usr/lib64', '/lib64',
    '--symlink', 'usr/bin', '/bin', '--dev', '/dev',
    writable ? '--bind' : '--ro-bind', targetDir, JAIL_TARGET, '--chdir', JAIL_TARGET,
    '--cap-drop', 'ALL'];
  for (const cap of KEEP_CAPS) args.push('--cap-add', cap);
  return args;
}

/** Spawns `argv` (absolute host path first) in the jail; stdin/stdout are pipes for the caller. */
export function spawnJailed(targetDir: string, argv: string[], writable: boolean): ChildProcess {
  return spawn('bwrap', [...jailArgs(targetDir, writable), '--', ...argv], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { PATH: '/usr/bin:/bin', LC_ALL: 'C' },
  });
}

/**
 * Extracts the tar stream `input` into `targetDir` with `/usr/bin/tar -xpf - <args>` in the
 * jail. Rejects with tar's failure (its `stderr` on the error); `input` is destroyed then.
 * A tar that dies early (EPIPE on its stdin) is reported by its exit, not the pipeline.
 */
export async function untarJailed(targetDir: string, input: Readable, args: readonly string[], what: string): Promise<void> {
  const tar = spawnJailed(targetDir, ['/usr/bin/tar', '-xpf', '-', ...args], true);
  const finished = exited(tar, what);
  try {
    await Promise.all([pipeline(input, tar.stdin!).catch(() => undefined), finished]);
  } catch (err) {
    input.destroy();
    throw err;
  }
}

/** Resolves when the child exits 0; rejects with its (bounded) stderr otherwise. */
export function exited(child: ChildProcess, what: string): Promise<string> {
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    if (stderr.length < 8192) stderr += d.toString();
  });
  return new Promise((resolve, reject) => {
    child.once('error', (err) => reject(new Error(`${what}: ${err.message}`)));
    child.once('close', (code, signal) => {
      if (code === 0) resolve(stderr);
      else reject(Object.assign(new Error(`${what} failed (${signal ?? code}): ${stderr.trim().slice(0, 2000)}`), { exitCode: code, stderr }));
    });
  });
}
