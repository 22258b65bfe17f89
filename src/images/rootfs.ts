/**
 * Steps applied to a freshly debootstrapped root filesystem: placing the host's Node 20
 * and npm, verifying tools inside it (bubblewrap), making it a clean read-only lower layer (no apt
 * caches, placeholder network files, no device nodes), describing it, and removing a
 * half-built tree safely (mounts first, never crossing into another filesystem).
 */
import { chmod, copyFile, mkdir, readFile, realpath, rm, symlink, writeFile, readdir, readlink, access } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { run } from '../util/exec.js';

/** Environment for commands run inside the image (chroot) and for host build tools. */
export const BUILD_ENV: NodeJS.ProcessEnv = {
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  HOME: '/root',
  LANG: 'C.UTF-8',
  LC_ALL: 'C.UTF-8',
  DEBIAN_FRONTEND: 'noninteractive',
};

/**
 * Runs `cmd` with `rootfs` as its root (bubblewrap: its own /dev and /proc, since layers hold
 * no device nodes; the host's network); resolves with trimmed stdout.
 */
export async function runInRoot(rootfs: string, cmd: readonly string[], timeoutMs = 60_000): Promise<string> {
  const { stdout } = await run('bwrap', ['--bind', rootfs, '/', '--dev', '/dev', '--proc', '/proc', '--tmpfs', '/run',
    '--unshare-pid', '--unshare-ipc', '--unshare-uts', '--die-with-parent', '--chdir', '/', '--', ...cmd],
  { env: BUILD_ENV, timeoutMs });
  return stdout.trim();
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(() => true, () => false);
}

/** The host's global npm package directory (`npm root -g`/npm), falling back to node's prefix. */
export async function hostNpmDir(): Promise<string> {
  const candidates: string[] = [];
  try {
    const { stdout } = await run('npm', ['root', '-g'], { timeoutMs: 30_000 });
    if (stdout.trim()) candidates.push(join(stdout.trim(), 'npm'));
  } catch {
    // npm not on PATH: derive it from the node binary below.
  }
  const nodeReal = await realpath(process.execPath);
  candidates.push(join(dirname(dirname(nodeReal)), 'lib', 'node_modules', 'npm'));
  for (const dir of candidates) {
    if (await exists(join(dir, 'bin', 'npm-cli.js'))) return realpath(dir);
  }
  throw new Error(`npm not found on the host (looked in ${candidates.join(', ')})`);
}

/**
 * Copies the running Node binary to /usr/local/bin/node and the host's npm to
 * /usr/local/lib/node_modules/npm, with relative npm/npx symlinks (valid both inside the
 * workspace and when the image is inspected from the host). Requires Node 20 on the host.
 */
export async function installHostNode(rootfs: string): Promise<void> {
  if (!process.versions.node.startsWith('20.')) {
    throw new Error(`node-20 image needs the host's Node 20, but this is Node ${process.versions.node}`);
  }
  const binDir = join(rootfs, 'usr/local/bin');
  const modulesDir = join(rootfs, 'usr/local/lib/node_modules');
  await mkdir(binDir, { recursive: true });
  await mkdir(modulesDir, { recursive: true });
  await copyFile(await realpath(process.execPath), join(binDir, 'node'));
  await chmod(join(binDir, 'node'), 0o755);
  const npmDir = await hostNpmDir();
  await run('cp', ['-a', npmDir, join(modulesDir, 'npm')], { timeoutMs: 120_000 });
  for (const [name, script] of [['npm', 'npm-cli.js'], ['npx', 'npx-cli.js']] as const) {
    await rm(join(binDir, name), { force: true });
    await symlink(`../lib/node_modules/npm/bin/${script}`, join(binDir, name));
  }
}

/** Runs each verification command in the image (runInRoot); throws naming the first that fails. */
export async function verifyImage(rootfs: string, commands: readonly string[][]): Promise<Record<string, string>> {
  const outputs: Record<string, string> = {};
  for (const cmd of commands) {
    try {
      outputs[cmd.join(' ')] = (await runInRoot(rootfs, cmd)).split('\n')[0] ?? '';
    } catch (err) {
      throw new Error(`image verification failed: ${cmd.join(' ')}: ${(err as Error).message}`);
    }
  }
  return outputs;
}

const RESOLV_PLACEHOLDER = '# Placeholder: Warren writes the workspace resolver configuration at start.\n';
const HOSTS = '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n';

async function emptyDir(dir: string, keep: readonly string[] = []): Promise<void> {
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    if (!keep.includes(name)) await rm(join(dir, name), { recursive: true, force: true });
  }
}

/**
 * Makes the tree fit to be a shared lower layer: no apt caches or package lists (they
 * are stale by the time anyone uses them), no host network identity, the standard
 * directories with the right modes, and no leftovers from verification (npm's logs).
 */
export async function finalizeRootfs(rootfs: string): Promise<void> {
  await emptyDir(join(rootfs, 'var/cache/apt/archives'), ['partial', 'lock']);
  await emptyDir(join(rootfs, 'var/cache/apt/archives/partial'));
  await rm(join(rootfs, 'var/cache/apt/pkgcache.bin'), { force: true });
  await rm(join(rootfs, 'var/cache/apt/srcpkgcache.bin'), { force: true });
  await emptyDir(join(rootfs, 'var/lib/apt/lists'), ['partial', 'lock']);
  await emptyDir(join(rootfs, 'var/lib/apt/lists/partial'));
  await rm(join(rootfs, 'root/.npm'), { recursive: true, force: true });
  // debootstrap's device nodes: a sandbox gets its own /dev, and a layer holds no devices.
  await emptyDir(join(rootfs, 'dev'));
  await rm(join(rootfs, 'root/.bash_history'), { force: true });
  await rm(join(rootfs, 'etc/resolv.conf'), { force: true });
  await writeFile(join(rootfs, 'etc/resolv.conf'), RESOLV_PLACEHOLDER);
  await writeFile(join(rootfs, 'etc/hostname'), 'workspace\n');
  await writeFile(join(rootfs, 'etc/hosts'), HOSTS);
  await mkdir(join(rootfs, 'root'), { recursive: true });
  await chmod(join(rootfs, 'root'), 0o700);
  await mkdir(join(rootfs, 'tmp'), { recursive: true });
  await chmod(join(rootfs, 'tmp'), 0o1777);
}

/** Facts recorded in manifest.json. */
export async function describeRootfs(rootfs: string): Promise<{
  size_bytes: number; packages: string[]; debian_version: string | null;
}> {
  const { stdout: du } = await run('du', ['-sb', '--one-file-system', rootfs], { timeoutMs: 120_000 });
  const { stdout: pkgs } = await run('dpkg-query', [
    `--admindir=${join(rootfs, 'var/lib/dpkg')}`, '-W', '-f=${Package}\n',
  ], { timeoutMs: 60_000 });
  const debianVersion = await readFile(join(rootfs, 'etc/debian_version'), 'utf8').catch(() => null);
  return {
    size_bytes: Number(du.split(/\s+/)[0]),
    packages: pkgs.split('\n').filter(Boolean).sort(),
    debian_version: debianVersion?.trim() ?? null,
  };
}

/** Mount points at or below `dir`, deepest first (mountinfo field 5, octal-escaped). */
function mountsUnder(dir: string): string[] {
  const info = readFileSync('/proc/self/mountinfo', 'utf8');
  const points = info.split('\n').map((line) => line.split(' ')[4])
    .filter((p): p is string => !!p)
    .map((p) => p.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8))))
    .filter((p) => p === dir || p.startsWith(`${dir}/`));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

/**
 * SIGKILLs processes whose root or cwd lies inside `dir`: leftovers of a crashed build
 * (dpkg/chroot children of an orphaned debootstrap). Nothing outside the tree matches.
 */
async function killProcessesInside(dir: string): Promise<number[]> {
  const killed: number[] = [];
  for (const name of await readdir('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    const paths = await Promise.all(['root', 'cwd'].map((l) => readlink(`/proc/${pid}/${l}`).catch(() => '')));
    if (paths.some((p) => p === dir || p.startsWith(`${dir}/`))) {
      try { process.kill(pid, 'SIGKILL'); killed.push(pid); } catch { /* already gone */ }
    }
  }
  return killed;
}

/**
 * Deletes a (possibly half-built) image tree. A debootstrap killed mid-way can leave
 * /proc, /sys or a /dev bind mounted inside the target, so those are detached first and
 * `rm` never crosses a filesystem boundary: host files are never reached.
 */
export async function removeTree(dir: string): Promise<void> {
  if (!(await exists(dir))) return;
  await killProcessesInside(dir);
  for (const point of mountsUnder(dir)) {
    await run('umount', ['-l', point], { timeoutMs: 30_000 }).catch(() => undefined);
  }
  await run('rm', ['-rf', '--one-file-system', '--', dir], { timeoutMs: 300_000 });
}
