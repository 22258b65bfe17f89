/**
 * The agent's runtime bundle (src/contract/agent-runtime.ts), bound read-only into every
 * sandbox at /.warren/runtime: the Node binary running this server, the host's ripgrep,
 * GNU tar and gzip, and node-pty's native addon for this Node — an ELF bundle
 * (src/storage/elf-bundle.ts) with glibc, its loader and every other library they load.
 * So the agent starts, and serves exec, terminals, files, search and transfer, in an
 * image without Node, glibc, bash or coreutils (busybox, Alpine), and takes none of its
 * own tools from the image.
 *
 * Layout under `<data dir>/runtime/`: `bundle-<hash>/` per version of those inputs (a new
 * Node or ripgrep on the host makes a new one at the next start) and the symlink `bundle`
 * → the current one, which sandboxes bind at their start.
 */
import { existsSync } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { RUNTIME_FILES, RUNTIME_MOUNT, type RuntimeFile } from '../contract/agent-runtime.js';
import { ensureElfBundle, type ElfBundleRecipe, type ElfFile } from './elf-bundle.js';

/** Debian's ripgrep (dynamically linked; scripts/setup.sh installs it), tar and gzip. */
export const HOST_RIPGREP = '/usr/bin/rg';
export const HOST_TAR = '/bin/tar';
export const HOST_GZIP = '/bin/gzip';
const PTY_PACKAGE = '@homebridge/node-pty-prebuilt-multiarch';
const FORMAT = 'warren-runtime-bundle-1';

export type RuntimeLog = (level: 'info' | 'warn', msg: string, fields?: Record<string, unknown>) => void;

/**
 * The pty addon node-pty loads on this host for the running Node: its prebuild for this
 * ABI (the glibc one; the host is Debian), else one built from source; null when absent.
 */
export function hostPtyAddon(): string | null {
  let dir: string;
  try {
    dir = dirname(createRequire(import.meta.url).resolve(`${PTY_PACKAGE}/package.json`));
  } catch {
    return null;
  }
  const prebuild = join(dir, 'prebuilds', `${process.platform}-${process.arch}`, `node.abi${process.versions.modules}.node`);
  return [prebuild, join(dir, 'build', 'Release', 'pty.node')].find((f) => existsSync(f)) ?? null;
}

/** What goes into the bundle from this host, and which optional inputs it lacks. */
export async function runtimeRecipe(): Promise<{ recipe: ElfBundleRecipe; missing: RuntimeFile[] }> {
  const optional: Array<[RuntimeFile, string | null, ElfFile['kind']]> = [
    ['rg', HOST_RIPGREP, 'program'],
    ['tar', HOST_TAR, 'program'],
    ['gzip', HOST_GZIP, 'program'],
    ['ptyAddon', hostPtyAddon(), 'library'],
  ];
  const files: ElfFile[] = [{ src: await realpath(process.execPath), name: RUNTIME_FILES.node, kind: 'program' }];
  const missing: RuntimeFile[] = [];
  for (const [file, src, kind] of optional) {
    if (src !== null && existsSync(src)) files.push({ src, name: RUNTIME_FILES[file], kind });
    else missing.push(file);
  }
  return { recipe: { format: FORMAT, mount: RUNTIME_MOUNT, files }, missing };
}

/**
 * Builds the runtime bundle under `root` (`<data dir>/runtime`) if its version is new and
 * returns the stable link sandboxes bind. Without it no agent can start, so a failure
 * throws (patchelf missing, a library the host lacks). A missing optional input is logged:
 * the agent then falls back to the image's rg or tar, or reports the feature unavailable.
 */
export async function ensureRuntimeBundle(root: string, log: RuntimeLog): Promise<string> {
  const { recipe, missing } = await runtimeRecipe();
  if (missing.length > 0) log('warn', 'the agent runtime bundle lacks some tools (scripts/setup.sh installs them)', { missing });
  try {
    const bundle = await ensureElfBundle(root, recipe);
    if (bundle.built) log('info', 'built the agent runtime bundle for workspaces', { version: bundle.version });
    return bundle.link;
  } catch (err) {
    throw new Error(`could not build the agent runtime bundle in ${root} (is patchelf installed? scripts/setup.sh installs it): ${String(err)}`);
  }
}
