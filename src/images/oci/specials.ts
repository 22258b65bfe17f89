/**
 * What Node cannot make or read by itself in a layer directory, done in batches by host
 * tools (one process per layer, not one per file):
 * - whiteouts (character device 0:0) and FIFOs: Node has no mknod. They are written as a
 *   tar made here (tar-stream, names already validated) and unpacked by GNU tar with
 *   `--keep-old-files` into the layer, whose parents are all directories this extraction
 *   made (src/images/oci/layer-tree.ts), so GNU tar never meets a link on the way;
 * - the opaque mark (xattr trusted.overlay.opaque=y): setfattr(1) (package `attr`), `-h`
 *   so it never dereferences, many paths per call;
 * - reading opaque marks back for packing: one `getfattr -R -P -h` over the tree.
 * Needs root (CAP_MKNOD, CAP_SYS_ADMIN for trusted.* xattrs), as the whole image store does.
 */
import { spawn } from 'node:child_process';
import tar from 'tar-stream';
import { pipeline } from 'node:stream/promises';
import { exited } from '../../storage/jail.js';
import type { Meta } from './layer-tree.js';

export const OPAQUE_XATTR = 'trusted.overlay.opaque';
const ENV = { PATH: '/usr/bin:/bin', LC_ALL: 'C' };
/** Bytes of path arguments per setfattr call (well under ARG_MAX). */
const ARG_BYTES = 64 * 1024;

export interface SpecialFile {
  path: string;
  kind: 'whiteout' | 'fifo';
  meta?: Meta;
}

/** Makes whiteouts and FIFOs at their (relative, validated) paths under `dir`. */
export async function makeSpecialFiles(dir: string, files: readonly SpecialFile[]): Promise<void> {
  if (files.length === 0) return;
  const pack = tar.pack();
  const child = spawn('tar', ['-x', '-f', '-', '-C', dir, '--keep-old-files', '--numeric-owner', '--same-owner',
    '--same-permissions'], { stdio: ['pipe', 'ignore', 'pipe'], env: ENV });
  const done = exited(child, 'making whiteouts');
  for (const f of files) {
    const m = f.meta;
    pack.entry(f.kind === 'whiteout'
      ? { name: f.path, type: 'character-device', devmajor: 0, devminor: 0, mode: 0o20000, uid: 0, gid: 0, mtime: new Date(0) }
      : { name: f.path, type: 'fifo', mode: 0o10000 | ((m?.mode ?? 0o644) & 0o7777), uid: m?.uid ?? 0, gid: m?.gid ?? 0, mtime: m?.mtime ?? new Date(0) });
  }
  pack.finalize();
  await Promise.all([pipeline(pack, child.stdin!), done]);
}

/** Sets trusted.overlay.opaque=y on these directories (relative paths under `dir`). */
export async function markOpaque(dir: string, dirs: readonly string[]): Promise<void> {
  for (const batch of batches(dirs)) {
    const child = spawn('setfattr', ['-h', '-n', OPAQUE_XATTR, '-v', 'y', '--', ...batch],
      { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], env: ENV });
    await exited(child, 'marking opaque directories');
  }
}

/** The relative paths under `dir` that carry trusted.overlay.opaque=y. */
export async function readOpaqueDirs(dir: string): Promise<Set<string>> {
  const child = spawn('getfattr', ['-R', '-P', '-h', '-d', '-m', `^${OPAQUE_XATTR.replace(/\./g, '\\.')}$`, '-e', 'text', '.'],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: ENV });
  let out = '';
  child.stdout!.setEncoding('latin1').on('data', (s: string) => { out += s; });
  await exited(child, 'reading opaque marks');
  const found = new Set<string>();
  let file: string | null = null;
  for (const line of out.split('\n')) {
    if (line.startsWith('# file: ')) file = unescapeGetfattr(line.slice('# file: '.length));
    else if (file !== null && line === `${OPAQUE_XATTR}="y"`) found.add(file.replace(/^\.\//, ''));
  }
  return found;
}

/** getfattr prints bytes outside printable ASCII (and `\`) as `\ooo`; the rest is the name's bytes. */
export function unescapeGetfattr(s: string): string {
  const bytes = Buffer.from(s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))), 'latin1');
  return bytes.toString('utf8');
}

function* batches(paths: readonly string[]): Generator<string[]> {
  let batch: string[] = [];
  let bytes = 0;
  for (const p of paths) {
    if (batch.length > 0 && bytes + p.length > ARG_BYTES) {
      yield batch;
      batch = [];
      bytes = 0;
    }
    batch.push(p);
    bytes += Buffer.byteLength(p) + 1;
  }
  if (batch.length > 0) yield batch;
}
