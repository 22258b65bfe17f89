/**
 * The shapes shared by the extraction's parts (extract.ts, the worker and its client, the
 * unpacker and the layer writer), kept apart so that none of them imports another in a circle.
 */

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

/** The most uncompressed tar bytes a layer within `limits` can take (content + headers + padding). */
export function maxTarBytes(limits: LayerLimits): number {
  return limits.maxUnpackedBytes + (limits.maxEntries + 1) * 3 * 512 + 1024 * 1024;
}
