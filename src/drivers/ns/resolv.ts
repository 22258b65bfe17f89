/**
 * Points a workspace at Warren's resolver by writing `/etc/resolv.conf` into its
 * root (the overlay's writable layer; the image stays untouched).
 *
 * The tree belongs to the workspace, which is hostile: `/etc` or `resolv.conf` may
 * be symlinks aimed at host paths. This runs while no process of the workspace
 * exists (before the sandbox starts, after its cgroups were emptied), so the checks
 * cannot be raced: `/etc` must be a real directory (else nothing is written), an
 * existing `resolv.conf` of any kind is unlinked (unlink never follows a symlink),
 * and the new file is created with O_EXCL, which refuses to follow one.
 */
import { lstat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export async function writeResolvConf(rootfs: string, servers: readonly string[]): Promise<boolean> {
  if (servers.length === 0) return false;
  const etc = join(rootfs, 'etc');
  const st = await lstat(etc).catch(() => null);
  if (!st?.isDirectory()) return false;
  const file = join(etc, 'resolv.conf');
  await unlink(file).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
  const text = '# Written by Warren: the workspace resolver (egress by host name is enforced through it).\n' +
    servers.map((s) => `nameserver ${s}\n`).join('') + 'options timeout:2 attempts:2\n';
  await writeFile(file, text, { flag: 'wx', mode: 0o644 });
  return true;
}
