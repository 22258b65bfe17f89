/**
 * Unpacking one OCI layer blob into a directory in Warren's layer format (overlayfs lower
 * layer: whiteouts as character devices 0:0, opaque directories marked with
 * trusted.overlay.opaque=y; see docs/ARCHITECTURE.md, image store).
 *
 * Contracts:
 * - The blob is streamed once (src/images/oci/blob-stream.ts): its sha256 and size are
 *   checked against the manifest's descriptor, the sha256 of the uncompressed tar against
 *   the config's diff_id. A mismatch refuses the layer (IMAGE_ARCHIVE_INVALID).
 * - Nothing is ever written outside `destDir`: every entry's path is checked by LayerTree
 *   (no absolute names, no `..`, no ancestor that is a symlink or file, hard links only to
 *   this layer's earlier files) before the disk is touched; files are created with
 *   O_EXCL|O_NOFOLLOW; `destDir` is created here, new and private to this call.
 * - Device nodes (character/block) are refused: in an OCI layer whiteouts are `.wh.` files.
 * - Over `limits.maxUnpackedBytes` of file content or `limits.maxEntries` entries the layer
 *   is refused (IMAGE_TOO_LARGE) as soon as the header that crosses the cap is read.
 * - On any failure `destDir` is removed before the promise rejects.
 * - The work runs in a worker thread (src/images/oci/unpack.ts, layer-writer.ts), with
 *   synchronous file calls there: the server's event loop is never blocked by it.
 * - Kept: numeric owners, modes (setuid/setgid/sticky too), mtimes, symlinks (targets never
 *   followed; absolute ones are normal in images), hard links, FIFOs. Not kept: the
 *   archive's xattrs (file capabilities: tar-stream decodes PAX values as UTF-8, so binary
 *   ones cannot be carried faithfully). Names that are not UTF-8 are refused
 *   (IMAGE_ARCHIVE_UNSUPPORTED) rather than renamed.
 */
import { mkdir, rm } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import { AppError, type ErrorCode } from '../../contract/errors.js';
import type { WireError, WorkerInput } from './extract-worker.js';

export interface LayerLimits {
  /** Largest total of file bytes one layer may unpack to. */
  maxUnpackedBytes: number;
  /** Most entries (files, dirs, links, whiteouts) one layer may have. */
  maxEntries: number;
}

/** A layer blob of an opened archive (see OciSource in src/images/oci/open.ts). */
export interface OciLayer {
  /** sha256 of the blob as stored (compressed or not), from the manifest. */
  digest: string;
  mediaType: string;
  /** Bytes of the blob, from the manifest. */
  size: number;
  /** sha256 of the uncompressed tar, from the config's rootfs.diff_ids. */
  diffId: string;
  blobPath: string;
}

export interface ExtractResult {
  diffId: string;
  /** Bytes of file content written. */
  bytes: number;
  /** Tar entries read (PAX and GNU long-name headers not counted). */
  entries: number;
}

/**
 * Heap of the extraction worker: the layer's path map (~300 bytes an entry at most) plus
 * tar-stream's buffers (one header of at most 4 MiB at a time) and headroom.
 */
function workerHeapMb(limits: LayerLimits): number {
  return Math.ceil(128 + (limits.maxEntries * 300) / (1024 * 1024));
}

/** The most uncompressed tar bytes a layer within `limits` can take (content + headers + padding). */
export function maxTarBytes(limits: LayerLimits): number {
  return limits.maxUnpackedBytes + (limits.maxEntries + 1) * 3 * 512 + 1024 * 1024;
}

/** Unpacks `layer` into `destDir` (which must not exist yet). See the module contract. */
export async function extractLayer(layer: OciLayer, destDir: string, limits: LayerLimits): Promise<ExtractResult> {
  await mkdir(destDir, { mode: 0o755 });
  try {
    return await inWorker({ layer, destDir, limits });
  } catch (err) {
    await rm(destDir, { recursive: true, force: true });
    throw err;
  }
}

function fromWire(e: WireError): Error {
  if (e.app) {
    const err = new AppError(e.code as ErrorCode, e.message, e.details);
    if (e.cause) Object.defineProperty(err, 'cause', { value: new Error(e.cause), enumerable: false });
    return err;
  }
  return Object.assign(new Error(e.message), e.code ? { code: e.code } : {});
}

/**
 * Starts src/images/oci/extract-worker: the built `.js` next to this module. When this module
 * runs from source under tsx (tests, development), Node 20 does not hand tsx's loader on to
 * worker threads, so the worker registers tsx itself before importing the `.ts` entry.
 */
function startWorker(input: WorkerInput): Worker {
  const options = { workerData: input, resourceLimits: { maxOldGenerationSizeMb: workerHeapMb(input.limits) } };
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./extract-worker.js', import.meta.url), options);
  const tsx = JSON.stringify(import.meta.resolve('tsx/esm/api'));
  const entry = JSON.stringify(new URL('./extract-worker.ts', import.meta.url).href);
  return new Worker(`import(${tsx}).then((m) => { m.register(); return import(${entry}); })`, { ...options, eval: true });
}

function inWorker(input: WorkerInput): Promise<ExtractResult> {
  return new Promise((resolve, reject) => {
    const worker = startWorker(input);
    let settled = false;
    worker.once('message', (m: { result?: ExtractResult; error?: WireError }) => {
      settled = true;
      if (m.result) resolve(m.result);
      else reject(fromWire(m.error!));
    });
    worker.once('error', (err) => {
      if (!settled) reject(err);
      settled = true;
    });
    worker.once('exit', (code) => {
      if (!settled) reject(new Error(`layer extraction worker exited (${code}) without an answer`));
      settled = true;
    });
  });
}
