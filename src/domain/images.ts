/**
 * Images as the domain sees them (Warren extension, issue 12): saving a workspace as an
 * image and deleting images, with the workspaces that use them in view. The image store
 * itself is reached through ImageLibraryPort (src/server-images.ts).
 *
 * Contracts:
 * - commit: under the workspace's lock a snapshot of its writable layer is taken (a live
 *   workspace is frozen for the copy only), then — without the lock — the snapshot's
 *   layer becomes one new layer over the workspace's pinned image: a diff, never a copy
 *   of the image. The snapshot is private to the commit and dropped after it (the
 *   reconciler drops it after a crash: purpose `archive`).
 * - The new image keeps its base image's config; the workspace's environment is not
 *   copied into it (it may hold secrets), nor its command.
 * - remove: refused while any workspace is pinned to the image (409 `image_in_use`
 *   listing them); checked and removed under the create lock, so no create can pin the
 *   image in between. Removing one of several names of an image (or a second name of a
 *   catalog image) only drops that name.
 */
import type { Readable } from 'node:stream';
import { AppError } from '../contract/errors.js';
import type { Store } from '../store/store.js';
import type { LayerOps } from './layer-ops.js';
import { refOf } from './layer-ops.js';
import type { WorkspaceService } from './workspaces.js';

export interface ImageSummary {
  id: string;
  name: string;
  source: string;
  layers: string[];
  size_bytes: number;
}

export interface ImageLibraryPort {
  /** The stored image a name or id stands for (catalog names included once built); null: none. */
  find(nameOrId: string): Promise<{ id: string; names: string[]; catalog: boolean } | null>;
  /** True when `name` belongs to the catalog (it cannot be given to another image). */
  isCatalogName(name: string): boolean;
  /** A new image: `baseImageId`'s layers and config, plus the layer in this tar of an overlay upper. */
  commitLayer(input: { baseImageId: string; name: string; layerTar: Readable; note: string }): Promise<ImageSummary>;
  /**
   * Imports an archive from a server-side path (only under the operator's allowed dirs) or
   * an uploaded stream (up to the operator's size cap); `name` defaults to the archive's own.
   */
  importArchive(source: ImportSource, name: string | undefined): Promise<ImageSummary>;
  /** Removes the image and its names, and the layers no other image uses. */
  remove(imageId: string): Promise<{ layersRemoved: number }>;
  /** Drops one name; the image stays. */
  untag(name: string): Promise<void>;
}

export type ImportSource = { path: string } | { upload: Readable };

export interface ImageServiceDeps {
  store: Store;
  workspaces: WorkspaceService;
  layers: () => LayerOps;
  library: ImageLibraryPort;
}

export class ImageService {
  constructor(private readonly d: ImageServiceDeps) {}

  /** Saves the workspace's files as image `name` (see the module contract). */
  async commit(idOrSlug: string, name: string): Promise<ImageSummary> {
    if (this.d.library.isCatalogName(name)) {
      throw new AppError('image_name_reserved', `${name} is a catalog image's name`, { field: 'name' });
    }
    const ws = await this.d.workspaces.get(idOrSlug);
    const layers = this.d.layers();
    const { rec, snapshot } = await this.d.workspaces.withLock(ws.id, async () => {
      const fresh = await this.d.workspaces.get(ws.id);
      if (!fresh.imageId) {
        throw new AppError('invalid_state', 'This workspace has not booted from a stored image yet; start it once first', { field: 'id' });
      }
      return { rec: fresh, snapshot: await layers.take(fresh, 'archive') };
    });
    try {
      const exp = await layers.exportSnapshot(rec, refOf(snapshot));
      const [image] = await Promise.all([
        this.d.library.commitLayer({ baseImageId: rec.imageId!, name, layerTar: exp.stream, note: `committed from ${rec.id}` }),
        exp.done,
      ]);
      return image;
    } finally {
      await layers.drop(snapshot).catch(() => undefined);
    }
  }

  /** Imports an image archive (OCI layout or `docker save`) as `name`. */
  async import(source: ImportSource, name: string | undefined): Promise<ImageSummary> {
    if (name !== undefined && this.d.library.isCatalogName(name)) {
      throw new AppError('image_name_reserved', `${name} is a catalog image's name`, { field: 'name' });
    }
    return this.d.library.importArchive(source, name);
  }

  /** Deletes image `nameOrId` unless a workspace uses it. */
  async remove(nameOrId: string): Promise<{ id: string; layersRemoved: number }> {
    return this.d.workspaces.underCreateLock(async () => {
      const img = await this.d.library.find(nameOrId);
      if (!img) throw new AppError('image_not_found', `No image ${nameOrId}`, { field: 'name' });
      if (img.catalog && this.d.library.isCatalogName(nameOrId)) {
        throw new AppError('image_name_reserved', `${nameOrId} is a catalog image; it is rebuilt on the next create`, { field: 'name' });
      }
      // A name of an image that keeps another name (a build identical to its base, an
      // archive imported twice) or is a catalog image: only that name goes.
      if (img.names.includes(nameOrId) && (img.names.length > 1 || img.catalog)) {
        await this.d.library.untag(nameOrId);
        return { id: img.id, layersRemoved: 0 };
      }
      const users = (await this.d.store.allWorkspaces()).filter((w) => w.imageId === img.id).map((w) => w.id);
      if (users.length > 0) {
        throw new AppError('image_in_use', `${users.length} workspace(s) use this image`, { field: 'name', workspaces: users });
      }
      return { id: img.id, ...(await this.d.library.remove(img.id)) };
    });
  }
}
