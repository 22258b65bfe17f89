/**
 * Relocatable bundles of host ELF files, bound read-only into sandboxes whose images may
 * lack every library they need (no glibc at all: busybox, Alpine). Used for the sshd
 * bundle (src/ssh/bundle.ts) and the agent's runtime bundle (src/storage/runtime-bundle.ts).
 *
 * Each file is copied with every shared library `ldd` lists and the dynamic loader into
 * `lib/`; patchelf points a program's interpreter at `<mount>/lib/<loader>` and every
 * file's DT_RPATH at `<mount>/lib`, where `<mount>` is where the sandbox sees the bundle.
 * DT_RPATH (not RUNPATH) also applies to the libraries' own dependencies and to what a
 * library without a RUNPATH dlopen()s, so nothing is looked up in the image; no
 * LD_LIBRARY_PATH is needed, so the image's own programs are untouched. A static program
 * is copied as it is.
 *
 * Layout under a root: `bundle-<version>/` per version of the inputs (their contents and
 * the recipe), complete when its `.complete` marker exists, made in a `.tmp-<pid>-…` dir and
 * renamed into place; `bundle` → the current version (a symlink replaced atomically). A
 * sandbox binds the directory the link named at its start, so a new version never changes
 * files under a running sandbox; old versions are left in place for that reason.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, open, readdir, readlink, realpath, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { isExecError, run } from '../util/exec.js';

export interface ElfFile {
  /** Host path (symlinks followed). */
  src: string;
  /** Path inside the bundle, e.g. `bin/node`. */
  name: string;
  /** A program gets its interpreter set; a library (a native addon) only its RPATH. */
  kind: 'program' | 'library';
}

export interface ElfBundleRecipe {
  /** Names the layout; change it when the layout changes, so old data dirs rebuild. */
  format: string;
  /** Where a sandbox sees the bundle's root. */
  mount: string;
  files: ElfFile[];
}

export interface ElfBundle {
  /** `<root>/bundle`: the stable link sandboxes bind. */
  link: string;
  /** `bundle-<hash>`: the version the link names. */
  version: string;
  /** Whether this call built it. */
  built: boolean;
}

const COMPLETE = '.complete';
/** Work in progress: `<name>.tmp-<pid>-<random>`, so concurrent builders never share one. */
const TMP = /\.tmp-(\d+)-[0-9a-f]+$/;

function tmpName(path: string): string {
  return `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
}

const ELF_MAGIC = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);

async function assertElf(file: string): Promise<void> {
  const fh = await open(file, 'r');
  try {
    const { buffer, bytesRead } = await fh.read(Buffer.alloc(4), 0, 4, 0);
    if (bytesRead < 4 || !buffer.equals(ELF_MAGIC)) throw new Error(`${file} is not an ELF file`);
  } finally {
    await fh.close();
  }
}

/** The program's interpreter, or null for a static program (patchelf finds no PT_INTERP). */
async function interpreterOf(program: string): Promise<string | null> {
  await assertElf(program);
  try {
    return (await run('patchelf', ['--print-interpreter', program])).stdout.trim() || null;
  } catch (err) {
    if (isExecError(err) && err.exitCode !== null) return null; // patchelf ran: no interpreter
    throw err; // patchelf missing or killed
  }
}

/** Absolute paths of the shared libraries `file` loads, from `ldd`; a library not found is an error. */
export function parseLdd(file: string, stdout: string): string[] {
  const libs: string[] = [];
  for (const line of stdout.split('\n')) {
    const missing = /^\s*(\S+)\s+=>\s+not found/.exec(line);
    if (missing) throw new Error(`${file} needs ${missing[1]}, which the host does not have`);
    const m = /=>\s+(\/\S+)\s+\(/.exec(line);
    if (m) libs.push(m[1]!);
  }
  return libs;
}

/** Version of a recipe: its format, mount and every file's name, kind and contents (streamed). */
export async function bundleVersion(recipe: ElfBundleRecipe): Promise<string> {
  const h = createHash('sha256').update(`${recipe.format}\0${recipe.mount}\0`);
  for (const f of recipe.files) {
    h.update(`${f.name}\0${f.kind}\0`);
    for await (const chunk of createReadStream(f.src)) h.update(chunk as Buffer);
  }
  return h.digest('hex').slice(0, 12);
}

/** The libraries to copy into `lib/`, by file name; two different files of one name are an error. */
class LibrarySet {
  readonly byName = new Map<string, string>();

  async add(path: string): Promise<void> {
    const real = await realpath(path);
    const name = basename(path);
    const known = this.byName.get(name);
    if (known !== undefined && known !== real) throw new Error(`two libraries named ${name}: ${known} and ${real}`);
    this.byName.set(name, real);
  }
}

/** Copies and patches one file into `tmp`; records what it loads. */
async function bundleFile(tmp: string, libDir: string, f: ElfFile, libs: LibrarySet): Promise<void> {
  const dest = join(tmp, f.name);
  await mkdir(dirname(dest), { recursive: true, mode: 0o755 });
  await copyFile(f.src, dest);
  await chmod(dest, f.kind === 'program' ? 0o755 : 0o644);
  const interpreter = f.kind === 'program' ? await interpreterOf(f.src) : null;
  if (f.kind === 'program' && interpreter === null) return; // static: runs anywhere as it is
  for (const lib of parseLdd(f.src, (await run('ldd', [f.src])).stdout)) await libs.add(lib);
  const args = ['--force-rpath', '--set-rpath', libDir];
  if (interpreter) {
    await libs.add(interpreter);
    args.unshift('--set-interpreter', `${libDir}/${basename(interpreter)}`);
  }
  await run('patchelf', [...args, dest], { timeoutMs: 120_000 });
}

async function build(dir: string, recipe: ElfBundleRecipe): Promise<void> {
  const tmp = tmpName(dir);
  try {
    await mkdir(join(tmp, 'lib'), { recursive: true, mode: 0o755 });
    const libDir = `${recipe.mount}/lib`;
    const libs = new LibrarySet();
    for (const f of recipe.files) await bundleFile(tmp, libDir, f, libs);
    for (const [name, real] of libs.byName) await copyFile(real, join(tmp, 'lib', name));
    await chmod(tmp, 0o755);
    await writeFile(join(tmp, COMPLETE), `${recipe.format}\n`);
    await moveIntoPlace(tmp, dir);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}

/**
 * Renames the finished build to `dir`. Another process may have finished the same version
 * first: its complete directory is kept (a sandbox may already bind it) and ours dropped.
 * An incomplete `dir` (an older builder's debris) is replaced.
 */
async function moveIntoPlace(tmp: string, dir: string): Promise<void> {
  if (existsSync(dir) && !existsSync(join(dir, COMPLETE))) await rm(dir, { recursive: true, force: true });
  try {
    await rename(tmp, dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if ((code !== 'ENOTEMPTY' && code !== 'EEXIST') || !existsSync(join(dir, COMPLETE))) throw err;
    await rm(tmp, { recursive: true, force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes `*.tmp-<pid>-…` builds and links left by processes that are gone. */
async function sweepDebris(root: string): Promise<void> {
  for (const name of await readdir(root)) {
    const pid = Number(TMP.exec(name)?.[1]);
    if (pid && pid !== process.pid && !alive(pid)) await rm(join(root, name), { recursive: true, force: true });
  }
}

/** Points `link` at `target` (a sibling name), atomically, unless it already does. */
async function pointLink(link: string, target: string): Promise<void> {
  if ((await readlink(link).catch(() => null)) === target) return;
  const tmpLink = tmpName(link);
  await symlink(target, tmpLink);
  await rename(tmpLink, link);
}

/**
 * Builds the bundle of `recipe` under `root` unless its version is already complete, and
 * points `<root>/bundle` at it. Cheap when current (the inputs are hashed, nothing copied).
 * Throws when a file, `ldd` or `patchelf` fails.
 */
export async function ensureElfBundle(root: string, recipe: ElfBundleRecipe): Promise<ElfBundle> {
  await mkdir(root, { recursive: true, mode: 0o755 });
  await sweepDebris(root);
  const version = `bundle-${await bundleVersion(recipe)}`;
  const dir = join(root, version);
  const built = !existsSync(join(dir, COMPLETE));
  if (built) await build(dir, recipe);
  const link = join(root, 'bundle');
  await pointLink(link, version);
  return { link, version, built };
}
