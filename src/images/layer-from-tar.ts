/**
 * A new layer from a tar of an overlay upper (a workspace's writable layer): extracted in
 * the bubblewrap jail (src/storage/jail.ts — the tar is the workspace's to shape, so its
 * links must never lead the extraction into the host), keeping owners, modes, whiteout
 * devices and only the xattrs a lower layer may carry (opaque marks, file capabilities,
 * user.*): overlayfs' own bookkeeping of the upper (origin, impure…) describes the old
 * mount and is dropped.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { untarJailed } from '../storage/jail.js';

const KEEP_XATTRS = ['--xattrs', '--xattrs-include=trusted.overlay.opaque', '--xattrs-include=security.capability',
  '--xattrs-include=user.*'];

/** Extracts `input` into `<stagingDir>/layer` and returns that directory. */
export async function layerFromUpperTar(stagingDir: string, input: Readable): Promise<string> {
  const dir = join(stagingDir, 'layer');
  await mkdir(dir, { mode: 0o755 });
  await untarJailed(dir, input, ['--numeric-owner', ...KEEP_XATTRS], 'layer extraction');
  return dir;
}
