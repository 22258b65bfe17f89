/**
 * Image archive I/O (issue 12, items 2 and 4): reading OCI layouts, oci-archives and
 * `docker save` archives layer by layer, safely, and writing oci-archives.
 *
 *   openArchive(path, { workDir, limits }) → OciSource        src/images/oci/open.ts
 *   extractLayer(layer, destDir, limits)   → ExtractResult    src/images/oci/extract.ts
 *   packLayer(dir)                         → Readable (tar)   src/images/oci/pack.ts
 *   writeOciArchive(image, outFile)        → ExportResult     src/images/oci/write-archive.ts
 *
 * plus the conversions between OCI's config fields and the store's ImageConfig, and
 * `ociArchiveReader`, the ArchiveReader shape src/images/import.ts consumes.
 */
import type { ImageConfig } from '../records.js';
import { extractLayer, type LayerLimits, type OciLayer } from './extract.js';
import { openArchive, type OciSource } from './open.js';
import type { OciImageConfig } from './schema.js';

export { openArchive, type OciSource, type OpenOptions } from './open.js';
export { extractLayer, maxTarBytes, type ExtractResult, type LayerLimits, type OciLayer } from './extract.js';
export { packLayer } from './pack.js';
export { writeOciArchive, type ExportImage, type ExportResult } from './write-archive.js';
export type { OciImageConfig } from './schema.js';
export type { ArchiveFormat } from './detect.js';

/** OCI config fields → the store's normalised ImageConfig. */
export function toImageConfig(c: OciImageConfig): ImageConfig {
  return {
    env: [...c.Env],
    ...(c.WorkingDir ? { workingDir: c.WorkingDir } : {}),
    ...(c.Entrypoint ? { entrypoint: [...c.Entrypoint] } : {}),
    ...(c.Cmd ? { cmd: [...c.Cmd] } : {}),
    ...(c.User ? { user: c.User } : {}),
    exposedPorts: Object.keys(c.ExposedPorts),
    labels: { ...c.Labels },
  };
}

/** The store's ImageConfig → OCI config fields (for writeOciArchive). */
export function fromImageConfig(c: ImageConfig): OciImageConfig {
  return {
    Env: [...c.env],
    ...(c.workingDir ? { WorkingDir: c.workingDir } : {}),
    ...(c.entrypoint ? { Entrypoint: [...c.entrypoint] } : {}),
    ...(c.cmd ? { Cmd: [...c.cmd] } : {}),
    ...(c.user ? { User: c.user } : {}),
    ExposedPorts: Object.fromEntries(c.exposedPorts.map((p) => [p, {}])),
    Labels: { ...c.labels },
  };
}

/** An opened archive as src/images/import.ts's OpenedArchive sees it, keeping the OCI source. */
export interface OciOpenedArchive {
  config: ImageConfig;
  layers: OciLayer[];
  refName?: string;
  source: OciSource;
}

/**
 * The ArchiveReader of src/images/import.ts: `open` normalises and reads the archive into
 * `workDir` (which the importer's staging removes), `unpack` extracts layer `index`.
 */
export const ociArchiveReader = {
  async open(path: string, workDir: string, limits: LayerLimits): Promise<OciOpenedArchive> {
    const source = await openArchive(path, { workDir, limits });
    return {
      config: toImageConfig(source.config), layers: source.layers, source,
      ...(source.refName ? { refName: source.refName } : {}),
    };
  },
  async unpack(archive: OciOpenedArchive, index: number, destDir: string, limits: LayerLimits): Promise<void> {
    const layer = archive.source.layers[index];
    if (!layer) throw new Error(`no layer ${index} in the archive`);
    await extractLayer(layer, destDir, limits);
  },
};
