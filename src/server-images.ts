/**
 * The images part of the composition root: the domain's ImagesPort (what a workspace is
 * made from) and ImageLibraryPort (commit, delete) over the image store.
 */
import type { ImageFacts, ImagesPort } from './domain/ports.js';
import type { ImageLibraryPort } from './domain/images.js';
import type { ImageStore } from './images/image-store.js';
import { digestLayerDir } from './images/layer-digest.js';
import { layerFromUpperTar } from './images/layer-from-tar.js';
import { importArchive, type ArchiveReader } from './images/import.js';
import { allowedArchivePath, saveUpload } from './images/upload.js';
import type { ImageImportConfig } from './config/images.js';
import type { Readable } from 'node:stream';
import { imageIdOf, isImageName, startCommand, type ImageRecord } from './images/records.js';
import { AppError } from './contract/errors.js';

function factsOf(name: string, rec: ImageRecord | null): ImageFacts {
  const c = rec?.config;
  return {
    name,
    imageId: rec?.id ?? null,
    env: c?.env ?? [],
    command: c ? startCommand(c) : [],
    ...(c?.workingDir ? { workingDir: c.workingDir } : {}),
    ...(c?.user ? { user: c.user } : {}),
  };
}

export function imagesPort(images: ImageStore): ImagesPort {
  return {
    async resolve(nameOrRef) {
      const r = await images.resolve(nameOrRef);
      return r ? factsOf(r.name, r.image) : null;
    },
    async materialize(name, imageId) {
      const pinned = imageId ? await images.layers.image(imageId) : null;
      if (pinned) return { ...factsOf(name, pinned), layers: images.layerDirs(pinned) };
      if (imageId) throw new AppError('INVALID_IMAGE', `The image of this workspace (${name}) was removed`, { field: 'image' });
      const legacy = images.legacyRootfs(name);
      if (legacy) return { ...factsOf(name, null), layers: [legacy] };
      const rec = await images.ensure(name);
      return { ...factsOf(name, rec), layers: images.layerDirs(rec) };
    },
  };
}

export interface ImageLibraryOptions {
  /** Reads and unpacks archives (src/images/oci/). */
  reader: ArchiveReader;
  importConfig: ImageImportConfig;
  log?: (msg: string) => void;
}

/** The domain's ImageLibraryPort (commit, import, delete) over the image store. */
export function imageLibrary(images: ImageStore, o: ImageLibraryOptions): ImageLibraryPort {
  const store = images.layers;
  return {
    async importArchive(source, name) {
      const upload = 'upload' in source ? await store.stage() : null;
      try {
        const path = upload
          ? await saveUpload((source as { upload: Readable }).upload, upload.path, o.importConfig.uploadMaxBytes)
          : await allowedArchivePath((source as { path: string }).path, o.importConfig.allowedDirs);
        const r = await importArchive(store, o.reader, { path, name, limits: o.importConfig.limits, onProgress: o.log });
        return { id: r.image.id, name: r.name ?? r.image.id, source: r.image.source, layers: r.image.layers, size_bytes: r.image.size_bytes };
      } finally {
        await upload?.discard();
      }
    },
    async find(nameOrId) {
      const r = await images.resolve(nameOrId);
      if (!r?.image) return null;
      const names = Object.entries(await store.names()).filter(([, id]) => id === r.image!.id).map(([n]) => n);
      return { id: r.image.id, names, catalog: r.catalog !== null || r.image.source === 'catalog' };
    },
    isCatalogName: (name) => images.catalogEntry(name) !== null,
    async commitLayer({ baseImageId, name, layerTar, note }) {
      if (!isImageName(name)) throw new AppError('validation_error', 'name must be an image name like team/tool:1.0', { field: 'name' });
      const base = await store.image(baseImageId);
      if (!base) throw new AppError('image_not_found', 'The workspace\'s image is no longer stored', { field: 'id' });
      const staging = await store.stage();
      try {
        const dir = await layerFromUpperTar(staging.path, layerTar);
        const digest = await digestLayerDir(dir);
        const rec = await store.locked(async () => {
          const layer = await store.commitLayer(dir, digest);
          const layers = [...base.layers, digest];
          const config = { ...base.config, labels: { ...base.config.labels } };
          const sizes = await Promise.all(base.layers.map(async (d) => (await store.layer(d))?.size_bytes ?? 0));
          const image: ImageRecord = {
            id: imageIdOf(layers, config), source: 'committed', layers, config, created_at: new Date().toISOString(),
            size_bytes: sizes.reduce((a, b) => a + b, layer.size_bytes), history: [...(base.history ?? []), note],
          };
          await store.putImage(image, [name]);
          return image;
        });
        return { id: rec.id, name, source: rec.source, layers: rec.layers, size_bytes: rec.size_bytes };
      } finally {
        await staging.discard();
      }
    },
    async remove(imageId) {
      const removed = await store.locked(() => store.removeImage(imageId));
      return { layersRemoved: removed.length };
    },
    untag: (name) => store.locked(() => store.untag(name)),
  };
}
