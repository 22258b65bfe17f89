/**
 * Mounting a stack of read-only image layers (and optionally a writable upper) with
 * overlayfs. One place builds the mount options, for the sandbox driver, the image
 * builder and exports.
 *
 * The kernel takes all options in one page (4096 bytes), so a deep stack of long paths
 * would not fit: when every lower layer lives in one directory (the image store's
 * `layers/`), the mount runs there and names them relative to it (65 bytes a layer:
 * about 60 layers), otherwise by absolute path. A stack that still does not fit is
 * refused with a readable error before mounting.
 */
import { dirname, basename, resolve } from 'node:path';
import { run } from '../util/exec.js';

const MAX_OPTIONS_BYTES = 4000;

export interface OverlayInput {
  /** Read-only layers, base first (overlayfs wants the top first; this module turns them). */
  lowers: readonly string[];
  /** Writable upper and its work dir (same file system); both absent: a read-only mount. */
  upper?: string;
  work?: string;
  target: string;
  /** Extra mount options (e.g. `nodev`). */
  extra?: readonly string[];
  /** The mount's source name, shown in the mount table. */
  source?: string;
}

/** overlayfs splits its options on ',' and ':'; such paths cannot be expressed safely. */
export function assertOverlaySafe(path: string): void {
  if (/[,:\\\n]/.test(path)) throw new Error(`path not usable in an overlay mount: ${path}`);
}

/**
 * overlayfs refuses a read-only mount of a single layer; the same view is that layer bound
 * read-only (unmounted like any mount, by unmountAll).
 */
async function bindReadOnly(dir: string, target: string): Promise<void> {
  await run('mount', ['--bind', resolve(dir), resolve(target)]);
  await run('mount', ['-o', 'remount,bind,ro', resolve(target)]);
}

/** The options string and the directory the mount must run in (pure). */
export function overlayOptions(input: OverlayInput): { options: string; cwd?: string } {
  if (input.lowers.length === 0) throw new Error('an overlay needs at least one lower layer');
  const lowers = input.lowers.map((l) => resolve(l));
  for (const p of [...lowers, input.upper, input.work]) if (p) assertOverlaySafe(p);
  const parents = new Set(lowers.map(dirname));
  const cwd = parents.size === 1 ? [...parents][0]! : undefined;
  const names = cwd ? lowers.map((l) => basename(l)) : lowers;
  const parts = [`lowerdir=${[...names].reverse().join(':')}`];
  if (input.upper && input.work) parts.push(`upperdir=${resolve(input.upper)}`, `workdir=${resolve(input.work)}`);
  else parts.push('ro');
  parts.push(...(input.extra ?? []));
  const options = parts.join(',');
  if (Buffer.byteLength(options) > MAX_OPTIONS_BYTES) {
    throw new Error(`an image of ${lowers.length} layers is too deep to mount (options over ${MAX_OPTIONS_BYTES} bytes)`);
  }
  return { options, ...(cwd ? { cwd } : {}) };
}

export async function mountOverlay(input: OverlayInput): Promise<void> {
  if (!input.upper && input.lowers.length === 1) return bindReadOnly(input.lowers[0]!, input.target);
  const { options, cwd } = overlayOptions(input);
  await run('mount', ['-t', 'overlay', input.source ?? 'warren-overlay', '-o', options, resolve(input.target)],
    { ...(cwd ? { cwd } : {}) });
}
