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
 * - `destDir` must not exist (its parent must); on any failure it is removed before the
 *   promise rejects. Runs as root (owners, whiteout devices, trusted.* xattrs).
 * - Whiteouts (mknod) and opaque marks (xattrs), which Node cannot make, are made at the end
 *   in one batch each by GNU tar and setfattr(1) (src/images/oci/specials.ts).
 * - The work runs in a worker thread (src/images/oci/worker-client.ts, unpack.ts,
 *   layer-writer.ts), with synchronous file calls there: the server's event loop is never
 *   blocked by it. Calls are served one at a time, in order.
 * - Kept: numeric owners, modes (setuid/setgid/sticky too), mtimes, symlinks (targets never
 *   followed; absolute ones are normal in images), hard links, FIFOs. Not kept: the
 *   archive's xattrs (file capabilities: tar-stream decodes PAX values as UTF-8, so binary
 *   ones cannot be carried faithfully). Names that are not UTF-8 are refused
 *   (IMAGE_ARCHIVE_UNSUPPORTED) rather than renamed.
 */
import { mkdir, rm } from 'node:fs/promises';
import { runExtraction } from './worker-client.js';

export { maxTarBytes, type ExtractResult, type LayerLimits, type OciLayer } from './layer-types.js';
import type { ExtractResult, LayerLimits, OciLayer } from './layer-types.js';

/** Unpacks `layer` into `destDir` (which must not exist yet). See the module contract. */
export async function extractLayer(layer: OciLayer, destDir: string, limits: LayerLimits): Promise<ExtractResult> {
  await mkdir(destDir, { mode: 0o755 });
  try {
    return await runExtraction({ layer, destDir, limits });
  } catch (err) {
    await rm(destDir, { recursive: true, force: true });
    throw err;
  }
}
