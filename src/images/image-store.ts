/**
 * The server's view of workspace images: which catalog images exist on this host and
 * their build state, and a way to get an image's rootfs directory (building it once).
 *
 * Contracts:
 * - `ensure` builds an image at most once: concurrent calls in this process share one
 *   promise, other processes are excluded by the builder's lock file.
 * - `rootfs` never builds and never copies: it returns the cached directory the driver
 *   overlays read-only, or throws when the image is not built yet.
 * - A failed build is remembered (`status: 'failed'`, `error`) until the next ensure.
 */
import { existsSync } from 'node:fs';
import { AppError } from '../contract/errors.js';
import {
  IMAGE_CATALOG, IMAGE_CATEGORIES, filterCatalog, resolveImage, toCatalogEntry,
  type CatalogImage, type CatalogQuery, type ImageCatalogEntry, type ImageCategory,
} from './catalog.js';
import {
  buildImage, isImageBuilt, lockPath, readManifest, rootfsPath,
  type BuildProgress, type ImageManifest,
} from './builder.js';
import { lockOwner } from './lock.js';

export type ImageStatus = 'ready' | 'building' | 'not_built' | 'failed';

export interface ImageListItem extends ImageCatalogEntry {
  built: boolean;
  status: ImageStatus;
  /** Why the last build in this process failed (status `failed` only). */
  error?: string;
}

export interface ImageStoreOptions {
  imagesDir: string;
  onProgress?: (p: BuildProgress) => void;
  /** Debian mirror override (tests, air-gapped hosts). */
  mirror?: string;
  /** An image was built by this store (not found built): its id and build seconds (operator metrics). */
  onBuilt?: (image: string, seconds: number) => void;
}

export class ImageStore {
  readonly imagesDir: string;
  private readonly onProgress?: (p: BuildProgress) => void;
  private readonly mirror?: string;
  private readonly onBuilt?: (image: string, seconds: number) => void;
  private readonly inFlight = new Map<string, Promise<string>>();
  private readonly failures = new Map<string, string>();

  constructor(opts: ImageStoreOptions) {
    this.imagesDir = opts.imagesDir;
    this.onProgress = opts.onProgress;
    this.mirror = opts.mirror;
    this.onBuilt = opts.onBuilt;
  }

  /** Catalog categories for `GET /workspace/images`. */
  categories(): Array<{ id: ImageCategory; label: string }> {
    return IMAGE_CATEGORIES.map((c) => ({ ...c }));
  }

  /** Filtered catalog entries (wire shape) with this host's build state. */
  async list(query: CatalogQuery = {}): Promise<ImageListItem[]> {
    return Promise.all(filterCatalog(IMAGE_CATALOG, query).map(async (img) => {
      const status = await this.status(img.id);
      const error = status === 'failed' ? this.failures.get(img.id) : undefined;
      return { ...toCatalogEntry(img), built: status === 'ready', status, ...(error ? { error } : {}) };
    }));
  }

  /** Catalog image by id (`node-20`) or image ref (`oblien/node:20`); null when unknown. */
  resolve(idOrRef: string): CatalogImage | null {
    return resolveImage(idOrRef);
  }

  isBuilt(idOrRef: string): boolean {
    const img = this.resolve(idOrRef);
    return !!img && isImageBuilt(this.imagesDir, img.id);
  }

  async status(idOrRef: string): Promise<ImageStatus> {
    const img = this.resolve(idOrRef);
    if (!img) return 'not_built';
    if (isImageBuilt(this.imagesDir, img.id)) return 'ready';
    if (this.inFlight.has(img.id)) return 'building';
    if (existsSync(lockPath(this.imagesDir, img.id)) && await lockOwner(lockPath(this.imagesDir, img.id)) !== null) {
      return 'building';
    }
    return this.failures.has(img.id) ? 'failed' : 'not_built';
  }

  /** The built image's rootfs directory. Throws INVALID_IMAGE (unknown) or not-built errors. */
  rootfs(idOrRef: string): string {
    const img = this.require(idOrRef);
    if (!isImageBuilt(this.imagesDir, img.id)) {
      throw new AppError('service_unavailable', `Image ${img.id} is not built yet`, { field: 'image' });
    }
    return rootfsPath(this.imagesDir, img.id);
  }

  async manifest(idOrRef: string): Promise<ImageManifest | null> {
    const img = this.require(idOrRef);
    return isImageBuilt(this.imagesDir, img.id) ? readManifest(this.imagesDir, img.id) : null;
  }

  /** Returns the image's rootfs, building it first if needed (once). */
  ensure(idOrRef: string): Promise<string> {
    const img = this.resolve(idOrRef);
    if (!img) return Promise.reject(new AppError('INVALID_IMAGE', `Unknown image: ${idOrRef}`, { field: 'image' }));
    if (isImageBuilt(this.imagesDir, img.id)) return Promise.resolve(rootfsPath(this.imagesDir, img.id));
    const pending = this.inFlight.get(img.id);
    if (pending) return pending;
    const build = this.build(img.id).finally(() => this.inFlight.delete(img.id));
    this.inFlight.set(img.id, build);
    return build;
  }

  /** Builds every catalog image, one after another; resolves with id → rootfs. */
  async buildAll(): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const img of IMAGE_CATALOG) out[img.id] = await this.ensure(img.id);
    return out;
  }

  private async build(id: string): Promise<string> {
    this.failures.delete(id);
    try {
      const result = await buildImage(id, { imagesDir: this.imagesDir, onProgress: this.onProgress, mirror: this.mirror });
      if (result.built) this.onBuilt?.(id, result.manifest.build_ms / 1000);
      return result.rootfs;
    } catch (err) {
      this.failures.set(id, err instanceof Error ? err.message : String(err));
      throw err;
    }
  }

  private require(idOrRef: string): CatalogImage {
    const img = this.resolve(idOrRef);
    if (!img) throw new AppError('INVALID_IMAGE', `Unknown image: ${idOrRef}`, { field: 'image' });
    return img;
  }
}
