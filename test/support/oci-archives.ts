/**
 * Image archives assembled by tests from entry lists, by the formats' own rules, with
 * tar-stream: layer tars (any entry, malicious ones included), an OCI image layout
 * directory, an oci-archive tar and a `docker save` tar. Nothing here calls the code under
 * test. Layers can be gzip-compressed (OCI) or plain (docker save always is).
 */
import { createHash } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';

export interface EntrySpec {
  name: string;
  type?: 'file' | 'directory' | 'symlink' | 'link' | 'character-device' | 'block-device' | 'fifo';
  content?: string | Buffer;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
}

/** A layer tar of exactly these entries, in this order (names written as given). */
export async function layerTar(entries: EntrySpec[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const collected = (async () => {
    for await (const c of pack) chunks.push(c as Buffer);
  })();
  for (const e of entries) {
    const type = e.type ?? 'file';
    const body = typeof e.content === 'string' ? Buffer.from(e.content) : e.content ?? Buffer.alloc(0);
    await new Promise<void>((resolve, reject) => {
      pack.entry({
        name: e.name, type, mode: e.mode ?? (type === 'directory' ? 0o755 : 0o644), uid: e.uid ?? 0, gid: e.gid ?? 0,
        mtime: new Date((e.mtime ?? 1_700_000_000) * 1000), linkname: e.linkname, devmajor: e.devmajor, devminor: e.devminor,
      }, type === 'file' ? body : Buffer.alloc(0), (err) => (err ? reject(err) : resolve()));
    });
  }
  pack.finalize();
  await collected;
  return Buffer.concat(chunks);
}

export interface Blob { digest: string; hex: string; size: number; bytes: Buffer }

export function blob(bytes: Buffer): Blob {
  const hex = createHash('sha256').update(bytes).digest('hex');
  return { digest: `sha256:${hex}`, hex, size: bytes.length, bytes };
}

export interface TestImage {
  /** Uncompressed layer tars, base first. */
  layers: Buffer[];
  config: Record<string, unknown>;
}

function configBlob(img: TestImage, arch = 'amd64', diffIds?: string[]): Blob {
  return blob(Buffer.from(JSON.stringify({
    architecture: arch, os: 'linux', config: img.config,
    rootfs: { type: 'layers', diff_ids: diffIds ?? img.layers.map((l) => blob(l).digest) },
  })));
}

export interface LayoutOptions {
  /** gzip these layer indexes (others stay plain tars). */
  gzip?: number[];
  /** Compress these layer indexes with zstd(1). */
  zstd?: number[];
  /** diff_ids to write in the config instead of the true ones. */
  diffIds?: string[];
  refName?: string;
  arch?: string;
}

/** Files of an OCI image layout (relative path → bytes). */
export function layoutFiles(img: TestImage, o: LayoutOptions = {}): Map<string, Buffer> {
  const layers = img.layers.map((l, i) => {
    if (o.zstd?.includes(i)) return { b: blob(execFileSync('zstd', ['-q', '-c'], { input: l })), suffix: '+zstd' };
    if (o.gzip?.includes(i)) return { b: blob(gzipSync(l)), suffix: '+gzip' };
    return { b: blob(l), suffix: '' };
  });
  const cfg = configBlob(img, o.arch, o.diffIds);
  const manifest = blob(Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: cfg.digest, size: cfg.size },
    layers: layers.map((l) => ({ mediaType: `application/vnd.oci.image.layer.v1.tar${l.suffix}`, digest: l.b.digest, size: l.b.size })),
  })));
  const files = new Map<string, Buffer>();
  files.set('oci-layout', Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })));
  for (const b of [...layers.map((l) => l.b), cfg, manifest]) files.set(`blobs/sha256/${b.hex}`, b.bytes);
  files.set('index.json', Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: manifest.digest, size: manifest.size,
      ...(o.refName ? { annotations: { 'org.opencontainers.image.ref.name': o.refName } } : {}) }],
  })));
  return files;
}

/** Writes an OCI image layout directory at `dir`. */
export function writeLayoutDir(img: TestImage, dir: string, o: LayoutOptions = {}): void {
  for (const [name, bytes] of layoutFiles(img, o)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), bytes);
  }
}

/** A tar of these files (directories implied), names prefixed `./` as GNU tar -C dir . writes them. */
export async function tarOfFiles(files: Map<string, Buffer>): Promise<Buffer> {
  const dirs = new Set<string>();
  for (const name of files.keys()) {
    const parts = name.split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  }
  return layerTar([
    ...[...dirs].sort().map((d) => ({ name: `./${d}/`, type: 'directory' as const })),
    ...[...files].map(([name, content]) => ({ name: `./${name}`, content })),
  ]);
}

/** An oci-archive (tar of an OCI layout). */
export async function ociArchive(img: TestImage, o: LayoutOptions = {}): Promise<Buffer> {
  return tarOfFiles(layoutFiles(img, o));
}

/** A `docker save` archive: manifest.json, <config>.json, <n>/layer.tar (plain), repositories. */
export async function dockerSave(img: TestImage, repoTag: string): Promise<Buffer> {
  const cfg = configBlob(img);
  const files = new Map<string, Buffer>();
  const layerNames: string[] = [];
  for (const l of img.layers) {
    const b = blob(l);
    files.set(`${b.hex}/layer.tar`, l);
    files.set(`${b.hex}/VERSION`, Buffer.from('1.0'));
    layerNames.push(`${b.hex}/layer.tar`);
  }
  files.set(`${cfg.hex}.json`, cfg.bytes);
  const [repo, tag] = repoTag.split(':');
  files.set('repositories', Buffer.from(JSON.stringify({ [repo!]: { [tag ?? 'latest']: blob(img.layers.at(-1)!).hex } })));
  files.set('manifest.json', Buffer.from(JSON.stringify([{ Config: `${cfg.hex}.json`, RepoTags: [repoTag], Layers: layerNames }])));
  return tarOfFiles(files);
}

/**
 * A two-layer image: layer 1 a tiny rootfs (files, an absolute symlink like Alpine's
 * /bin/sh, a hard link, an owned private file, a setuid file, a directory with two files);
 * layer 2 deletes etc/gone (whiteout), makes data/ opaque with one new file, adds etc/added.
 */
export async function twoLayerImage(): Promise<TestImage> {
  const l1 = await layerTar([
    { name: 'bin/', type: 'directory' },
    { name: 'bin/busybox', content: '#!/bin/true\n', mode: 0o755 },
    { name: 'bin/sh', type: 'symlink', linkname: '/bin/busybox' },
    { name: 'bin/su', content: 'su', mode: 0o4755 },
    { name: 'etc/', type: 'directory' },
    { name: 'etc/hello', content: 'hello\n' },
    { name: 'etc/hello-link', type: 'link', linkname: 'etc/hello' },
    { name: 'etc/gone', content: 'to be deleted\n' },
    { name: 'data/', type: 'directory', mode: 0o750, uid: 1000, gid: 1000 },
    { name: 'data/old1', content: 'old 1' },
    { name: 'data/old2', content: 'old 2' },
    { name: 'home/user/secret', content: 'secret', mode: 0o600, uid: 1000, gid: 1000, mtime: 1_600_000_000 },
    { name: 'tmp/', type: 'directory', mode: 0o1777 },
  ]);
  const l2 = await layerTar([
    { name: 'etc/', type: 'directory' },
    { name: 'etc/.wh.gone' },
    { name: 'etc/added', content: 'added in layer 2\n' },
    { name: 'data/', type: 'directory', mode: 0o750, uid: 1000, gid: 1000 },
    { name: 'data/.wh..wh..opq' },
    { name: 'data/new', content: 'new' },
  ]);
  return { layers: [l1, l2], config: { Env: ['PATH=/bin', 'GREETING=hi'], Cmd: ['/bin/sh', '-c', 'echo hi'], WorkingDir: '/home/user', User: '1000:1000', ExposedPorts: { '8080/tcp': {} }, Labels: { team: 'warren' } } };
}

/**
 * One line per entry under `dir` (sorted): path, type, permission bits, owner, mtime (s), and
 * content sha256 / symlink target / device numbers / opaque mark. Two trees are the same
 * layer when their descriptions are equal. Hard links show as files with the same content.
 */
export function describeTree(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const path = rel ? `${rel}/${name}` : name;
      const abs = join(dir, path);
      const st = lstatSync(abs);
      const base = `${path} ${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid} ${Math.floor(st.mtimeMs / 1000)}`;
      if (st.isDirectory()) {
        out.push(`${base} dir${isOpaque(abs) ? ' opaque' : ''}`);
        walk(path);
      } else if (st.isSymbolicLink()) out.push(`${base} -> ${readlinkSync(abs)}`);
      else if (st.isCharacterDevice()) out.push(`${path} chr ${st.rdev}`);
      else if (st.isFIFO()) out.push(`${base} fifo`);
      else out.push(`${base} file ${createHash('sha256').update(readFileSync(abs)).digest('hex').slice(0, 16)}`);
    }
  };
  walk('');
  return out;
}

export function isOpaque(path: string): boolean {
  const r = spawnSync('getfattr', ['-h', '--only-values', '-n', 'trusted.overlay.opaque', path], { encoding: 'utf8' });
  return r.status === 0 && r.stdout === 'y';
}

export interface Scratch {
  dir: string;
  /** Runs `fn` at the end of the test, before the directory goes (last deferred first). */
  defer(fn: () => void | Promise<void>): void;
}

/** A temporary directory removed after the test, even when it fails; deferred steps run first. */
export function scratch(t: { after(fn: () => void | Promise<void>): void }): Scratch {
  const dir = mkdtempSync(join(tmpdir(), 'warren-oci-'));
  const steps: Array<() => void | Promise<void>> = [];
  t.after(async () => {
    for (const step of steps.reverse()) await step();
    rmSync(dir, { recursive: true, force: true });
  });
  return { dir, defer: (fn) => { steps.push(fn); } };
}

/** Mounts `overlay lowerdir=<top>:…:<base>` read-only in the scratch dir; unmounted after the test. */
export function mountOverlay(s: Scratch, lowersTopFirst: string[]): string {
  const target = mkdtempSync(join(s.dir, 'mnt-'));
  execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lowersTopFirst.join(':')},ro`, target]);
  s.defer(() => { execFileSync('umount', [target]); });
  return target;
}

/**
 * An OCI layout holding one image per platform (each given by its architecture): `nested`
 * puts them in an image index blob that index.json points to (how registries and buildx
 * store multi-platform images); otherwise index.json lists the manifests itself, each with
 * its platform and a ref name `<arch>`.
 */
export function writeMultiPlatformLayout(images: Array<{ img: TestImage; arch: string }>, dir: string, nested: boolean): void {
  const files = new Map<string, Buffer>();
  const manifests: Array<Record<string, unknown>> = [];
  for (const { img, arch } of images) {
    const own = layoutFiles(img, { arch });
    const index = JSON.parse(own.get('index.json')!.toString()) as { manifests: Array<Record<string, unknown>> };
    for (const [name, bytes] of own) if (name.startsWith('blobs/')) files.set(name, bytes);
    manifests.push({ ...index.manifests[0], platform: { os: 'linux', architecture: arch },
      ...(nested ? {} : { annotations: { 'org.opencontainers.image.ref.name': arch } }) });
  }
  let top = manifests;
  if (nested) {
    const list = blob(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests })));
    files.set(`blobs/sha256/${list.hex}`, list.bytes);
    top = [{ mediaType: 'application/vnd.oci.image.index.v1+json', digest: list.digest, size: list.size }];
  }
  files.set('oci-layout', Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })));
  files.set('index.json', Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: top })));
  for (const [name, bytes] of files) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), bytes);
  }
}

/** A `docker save` archive of several images (one manifest.json entry each). */
export async function dockerSaveMany(images: Array<{ img: TestImage; repoTag: string }>): Promise<Buffer> {
  const files = new Map<string, Buffer>();
  const manifest: unknown[] = [];
  for (const { img, repoTag } of images) {
    const cfg = configBlob(img);
    files.set(`${cfg.hex}.json`, cfg.bytes);
    for (const l of img.layers) files.set(`${blob(l).hex}/layer.tar`, l);
    manifest.push({ Config: `${cfg.hex}.json`, RepoTags: [repoTag], Layers: img.layers.map((l) => `${blob(l).hex}/layer.tar`) });
  }
  files.set('manifest.json', Buffer.from(JSON.stringify(manifest)));
  return tarOfFiles(files);
}
