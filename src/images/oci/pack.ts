/**
 * A layer directory (Warren's layer format) as an uncompressed OCI layer tar: the inverse of
 * extractLayer. Whiteouts (character devices 0:0) become `.wh.<name>` empty files, an opaque
 * directory (trusted.overlay.opaque=y) gets a `.wh..wh..opq` entry right after its own.
 *
 * Deterministic: the same directory gives the same bytes, so the same sha256 (the layer's
 * diff_id when exported). Entries are in depth-first order, names sorted by their UTF-8
 * bytes; headers carry the numeric owner, permission bits, whole-second mtime and nothing
 * of the host (no user/group names, no atime/ctime); long names and links use PAX headers
 * (tar-stream); the first path of a multiply linked file is the file, later ones are hard
 * links to it. The layer's root directory has no entry (as in Docker's layers).
 *
 * Refused (the stream errors): device nodes other than whiteouts, sockets, and names that
 * are not UTF-8 (tar-stream writes names as UTF-8 and could not carry them faithfully).
 */
import { constants as FS } from 'node:fs';
import { lstat, open, readdir, readlink } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { readOpaqueDirs } from './specials.js';
import { OPAQUE_MARKER, WHITEOUT_PREFIX } from './layer-tree.js';

const READ_CHUNK = 1024 * 1024;
/** Largest id an octal ustar field holds; bigger ones go into a PAX header. */
const USTAR_MAX_ID = 0o7777777;

/** Streams the OCI layer tar of `dir`; see the module contract. */
export function packLayer(dir: string): Readable {
  const pack = tar.pack();
  packInto(pack, dir).then(() => pack.finalize(), (err: Error) => pack.destroy(err));
  return Readable.from(pack as AsyncIterable<Buffer>, { objectMode: false });
}

interface Walk {
  root: string;
  opaque: Set<string>;
  /** dev:ino → first path of a multiply linked file. */
  links: Map<string, string>;
}

async function packInto(pack: tar.Pack, root: string): Promise<void> {
  const walk: Walk = { root, opaque: await readOpaqueDirs(root), links: new Map() };
  await packChildren(pack, walk, '');
}

function byBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

async function packChildren(pack: tar.Pack, walk: Walk, rel: string): Promise<void> {
  const names = await readdir(join(walk.root, rel), { encoding: 'buffer' });
  const sorted = names.map((n) => {
    const s = n.toString('utf8');
    if (!Buffer.from(s).equals(n)) throw new Error(`layer ${walk.root} has a file name that is not UTF-8; it cannot be exported`);
    return s;
  }).sort(byBytes);
  for (const name of sorted) {
    const path = rel ? `${rel}/${name}` : name;
    const st = await lstat(join(walk.root, path));
    await packEntry(pack, walk, path, name, st);
    if (st.isDirectory()) await packChildren(pack, walk, path);
  }
}

type EntryHeader = Partial<tar.Header> & { name: string };

function header(name: string, st: Stats, type: tar.Header['type'], extra: Partial<tar.Header> = {}): EntryHeader {
  const h: EntryHeader = {
    name, type, uid: st.uid, gid: st.gid, mtime: new Date(Math.floor(st.mtimeMs / 1000) * 1000),
    // type bits kept so a mode of 0 stays 0 (tar-stream turns a falsy mode into 0644)
    mode: st.mode, uname: '', gname: '', ...extra,
  };
  if (st.uid > USTAR_MAX_ID || st.gid > USTAR_MAX_ID) h.pax = { uid: String(st.uid), gid: String(st.gid) };
  return h;
}

function parentPrefix(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i + 1);
}

async function packEntry(pack: tar.Pack, walk: Walk, path: string, name: string, st: Stats): Promise<void> {
  if (st.isDirectory()) {
    await add(pack, header(`${path}/`, st, 'directory'));
    if (walk.opaque.has(path)) {
      await add(pack, { name: `${path}/${OPAQUE_MARKER}`, type: 'file', mode: 0o100000, uid: 0, gid: 0, mtime: new Date(0), uname: '', gname: '' });
    }
    return;
  }
  if (st.isCharacterDevice() && st.rdev === 0) {
    await add(pack, { name: `${parentPrefix(path)}${WHITEOUT_PREFIX}${name}`, type: 'file', mode: 0o100000, uid: 0, gid: 0, mtime: new Date(0), uname: '', gname: '' });
    return;
  }
  if (st.isSymbolicLink()) {
    await add(pack, header(path, st, 'symlink', { linkname: await readlink(join(walk.root, path)) }));
    return;
  }
  if (st.isFIFO()) {
    await add(pack, header(path, st, 'fifo'));
    return;
  }
  if (!st.isFile()) throw new Error(`layer ${walk.root} holds ${path}, which is neither a file, directory, link, FIFO nor whiteout`);
  if (st.nlink > 1) {
    const key = `${st.dev}:${st.ino}`;
    const first = walk.links.get(key);
    if (first !== undefined) {
      await add(pack, header(path, st, 'link', { linkname: first, size: 0 }));
      return;
    }
    walk.links.set(key, path);
  }
  await addFile(pack, header(path, st, 'file', { size: st.size }), join(walk.root, path));
}

const EMPTY = Buffer.alloc(0);

/** Adds an entry without content (directory, link, FIFO, empty marker) and waits until tar-stream took it. */
function add(pack: tar.Pack, h: EntryHeader): Promise<void> {
  return new Promise((resolve, reject) => {
    pack.entry(h, EMPTY, (err) => (err ? reject(err) : resolve()));
  });
}

/** Streams a file's content into its entry; a file that changed size while packing fails the pack. */
async function addFile(pack: tar.Pack, h: EntryHeader, path: string): Promise<void> {
  const done = new Promise<void>((resolve, reject) => {
    const sink = pack.entry(h, (err) => (err ? reject(err) : resolve()));
    void copyInto(path, h.size ?? 0, sink).catch((err: Error) => {
      sink.destroy(err);
      reject(err);
    });
  });
  await done;
}

async function copyInto(path: string, size: number, sink: NodeJS.WritableStream): Promise<void> {
  const fh = await open(path, FS.O_RDONLY | FS.O_NOFOLLOW);
  try {
    let left = size;
    while (left > 0) {
      const { bytesRead, buffer } = await fh.read(Buffer.allocUnsafe(Math.min(READ_CHUNK, left)), 0, Math.min(READ_CHUNK, left), null);
      if (bytesRead === 0) throw new Error(`${path} shrank while it was packed`);
      left -= bytesRead;
      if (!sink.write(buffer.subarray(0, bytesRead))) await new Promise((r) => sink.once('drain', r));
    }
    sink.end();
  } finally {
    await fh.close();
  }
}
