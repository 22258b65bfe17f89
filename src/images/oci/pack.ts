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
 * Left out: device nodes other than whiteouts (debootstrap leaves /dev/null and friends in a
 * base layer; a runtime provides /dev, and extractLayer refuses devices, so an export must
 * not carry them) and sockets. Refused (the stream errors): names that are not UTF-8
 * (tar-stream writes names as UTF-8 and could not carry them faithfully).
 *
 * The walk uses synchronous fs calls in slices of at most SLICE_MS, yielding to the event
 * loop between slices: an async call costs a thread-pool round trip per lstat/open/read/
 * close, which made packing 2–3× slower than GNU tar; a slice bounds how long it blocks.
 */
import { closeSync, constants as FS, lstatSync, openSync, readdirSync, readlinkSync, readSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { readOpaqueDirs } from './specials.js';
import { OPAQUE_MARKER, WHITEOUT_PREFIX } from './layer-tree.js';

/** Read size; files up to it are read whole (64 KiB blocks reuse the allocator's memory). */
const READ_CHUNK = 64 * 1024;
/** Longest stretch of synchronous work between two yields to the event loop. */
const SLICE_MS = 10;
/** Largest id an octal ustar field holds; bigger ones go into a PAX header. */
const USTAR_MAX_ID = 0o7777777;
const EMPTY = Buffer.alloc(0);

/** Streams the OCI layer tar of `dir`; see the module contract. */
export function packLayer(dir: string): Readable {
  const pack = tar.pack();
  packInto(pack, dir).then(() => pack.finalize(), (err: Error) => pack.destroy(err));
  return Readable.from(pack as AsyncIterable<Buffer>, { objectMode: false });
}

type EntryHeader = Partial<Omit<tar.Header, 'pax'>> & { name: string; pax?: Record<string, string> };

interface Walk {
  pack: tar.Pack;
  root: string;
  opaque: Set<string>;
  /** dev:ino → first path of a multiply linked file. */
  links: Map<string, string>;
  sliceStart: number;
}

async function packInto(pack: tar.Pack, root: string): Promise<void> {
  const walk: Walk = { pack, root, opaque: await readOpaqueDirs(root), links: new Map(), sliceStart: performance.now() };
  await packChildren(walk, '');
}

/** Yields to the event loop once the current slice of synchronous work is used up. */
async function slice(walk: Walk): Promise<void> {
  if (performance.now() - walk.sliceStart < SLICE_MS) return;
  await new Promise((resolve) => setImmediate(resolve));
  walk.sliceStart = performance.now();
}

function byBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

function childNames(walk: Walk, rel: string): string[] {
  return readdirSync(join(walk.root, rel), { encoding: 'buffer' }).map((n) => {
    const s = n.toString('utf8');
    if (!Buffer.from(s).equals(n)) throw new Error(`layer ${walk.root} has a file name that is not UTF-8; it cannot be exported`);
    return s;
  }).sort(byBytes);
}

async function packChildren(walk: Walk, rel: string): Promise<void> {
  for (const name of childNames(walk, rel)) {
    await slice(walk);
    const path = rel ? `${rel}/${name}` : name;
    const st = lstatSync(join(walk.root, path));
    await packEntry(walk, path, name, st);
    if (st.isDirectory()) await packChildren(walk, path);
  }
}

function header(name: string, st: Stats, type: tar.Header['type'], extra: Partial<Omit<tar.Header, 'pax'>> = {}): EntryHeader {
  const h: EntryHeader = {
    name, type, uid: st.uid, gid: st.gid, mtime: new Date(Math.floor(st.mtimeMs / 1000) * 1000),
    // type bits kept so a mode of 0 stays 0 (tar-stream turns a falsy mode into 0644)
    mode: st.mode, uname: '', gname: '', ...extra,
  };
  if (st.uid > USTAR_MAX_ID || st.gid > USTAR_MAX_ID) h.pax = { uid: String(st.uid), gid: String(st.gid) };
  return h;
}

/** An empty regular file entry of no one (whiteout and opaque markers). */
function marker(name: string): EntryHeader {
  return { name, type: 'file', mode: 0o100000, uid: 0, gid: 0, mtime: new Date(0), uname: '', gname: '' };
}

function parentPrefix(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i + 1);
}

async function packEntry(walk: Walk, path: string, name: string, st: Stats): Promise<void> {
  if (st.isDirectory()) {
    await add(walk.pack, header(`${path}/`, st, 'directory'));
    if (walk.opaque.has(path)) await add(walk.pack, marker(`${path}/${OPAQUE_MARKER}`));
    return;
  }
  if (st.isCharacterDevice() && st.rdev === 0) return add(walk.pack, marker(`${parentPrefix(path)}${WHITEOUT_PREFIX}${name}`));
  if (st.isSymbolicLink()) return add(walk.pack, header(path, st, 'symlink', { linkname: readlinkSync(join(walk.root, path)) }));
  if (st.isFIFO()) return add(walk.pack, header(path, st, 'fifo'));
  if (!st.isFile()) return; // device nodes (a runtime provides /dev) and sockets: not image content
  if (st.nlink > 1) {
    const key = `${st.dev}:${st.ino}`;
    const first = walk.links.get(key);
    if (first !== undefined) return add(walk.pack, header(path, st, 'link', { linkname: first, size: 0 }));
    walk.links.set(key, path);
  }
  await addFile(walk, header(path, st, 'file', { size: st.size }), join(walk.root, path), st.size);
}

/** Adds an entry with this content (none for directories, links, markers) once tar-stream took it. */
function add(pack: tar.Pack, h: EntryHeader, body: Buffer = EMPTY): Promise<void> {
  return new Promise((resolve, reject) => {
    pack.entry(h, body, (err) => (err ? reject(err) : resolve()));
  });
}

/** Reads exactly `want` bytes at the file's current offset; a file that shrank while packed fails. */
function readExactly(fd: number, want: number, path: string): Buffer {
  const buf = Buffer.allocUnsafe(want);
  for (let got = 0; got < want;) {
    const n = readSync(fd, buf, got, want - got, null);
    if (n === 0) throw new Error(`${path} shrank while it was packed`);
    got += n;
  }
  return buf;
}

/** Streams a file's `size` bytes (as lstat saw them) into its entry. */
async function addFile(walk: Walk, h: EntryHeader, path: string, size: number): Promise<void> {
  const fd = openSync(path, FS.O_RDONLY | FS.O_NOFOLLOW);
  try {
    if (size <= READ_CHUNK) return await add(walk.pack, h, readExactly(fd, size, path));
    let sink!: ReturnType<tar.Pack['entry']>;
    const done = new Promise<void>((resolve, reject) => {
      sink = walk.pack.entry(h, (err) => (err ? reject(err) : resolve()));
    });
    done.catch(() => undefined); // awaited below; an early failure must not go unhandled
    for (let left = size; left > 0; left -= READ_CHUNK) {
      if (!sink.write(readExactly(fd, Math.min(READ_CHUNK, left), path))) await new Promise<void>((r) => sink.once('drain', () => r()));
      await slice(walk);
    }
    sink.end(EMPTY);
    await done;
  } finally {
    closeSync(fd);
  }
}
