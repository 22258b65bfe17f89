/**
 * The images part of the composition root: the domain's ImagesPort over the image store
 * (catalog + layer store), and the start-up sweep of what a crash left in the store.
 */
import type { ImageFacts, ImagesPort } from './domain/ports.js';
import type { ImageStore } from './images/image-store.js';
import { startCommand, type ImageRecord } from './images/records.js';
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
