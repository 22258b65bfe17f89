/**
 * The server's view of workspace images: the catalog (built here on first use, from
 * Debian's archive) and the images stored in the layer store (imported, built from a
 * Dockerfile, committed from a workspace), listed together, resolved by name or id,
 * and turned into the read-only layer directories a workspace's root is overlaid on.
 *
 * Contracts:
 * - `ensure` builds a catalog image at most once: concurrent calls in this process share
 *   one promise, other processes wait on the build's lock files.
 * - `layerDirs` never builds and never copies: it returns the stored layers' directories.
 * - A failed catalog build is remembered (`status: 'failed'`, `error`) until the next ensure.
 */
import { join } from 'node:path';
import { AppError } from '../contract/errors.js';
import {
  IMAGE_CATALOG, IMAGE_CATEGORIES, filterCatalog, resolveImage, toCatalogEntry,
  type CatalogImage, type CatalogQuery, type ImageCatalogEntry, type ImageCategory,
} from './catalog.js';
import { buildCatalogImage, builtLayer, isLegacyImage } from './catalog-build.js';
import type { BuildPhase } from './debootstrap.js';
import { LayerStore } from './layer-store.js';
import { lockOwner } from './lock.js';
import { shortDigest, type ImageRecord, type ImageSource } from './records.js';

export type ImageStatus = 'ready' | 'building' | 'not_built' | 'failed';

export interface BuildProgress {
  image: string;
  phase: BuildPhase;
  message: string;
}

export interface ImageListItem extends Omit<ImageCatalogEntry, 'category'> {
  category: ImageCategory | 'custom';
  built: boolean;
  status: ImageStatus;
  source: ImageSource;
  /** The stored image's id (`sha256:…`) when built. */
  digest?: string;
  size_bytes?: number;
  layers?: number;
  created_at?: string;
  /**
   * The last build in this process failed (status `failed` only): a fixed sentence and a
   * stable code. The build's own output (debootstrap, command lines, host paths) goes to
   * the server log through onProgress, never here.
   */
  error?: string;
  error_code?: typeof BUILD_FAILED_CODE;
}

/** `error_code` of a catalog image whose last build failed. */
export const BUILD_FAILED_CODE = 'image_build_failed';
const BUILD_FAILED_MESSAGE = 'the image could not be built; see the server log';

/** What a name given at create stands for. */
export interface ResolvedImage {
  /** The name the workspace records: the catalog id, or the stored image's name/id as given. */
  name: string;
  catalog: CatalogImage | null;
  /** The stored image, when there is one (a catalog image has none until built). */
  image: ImageRecord | null;
}

export interface ImageStoreOptions {
  imagesDir: string;
  onProgress?: (p: BuildProgress) => void;
  /** Debian mirror override (tests, air-gapped hosts). */
  mirror?: string;
  /** A catalog image was built by this store: its id and build seconds (operator metrics). */
  onBuilt?: (image: string, seconds: number) => void;
}

const CUSTOM_CATEGORY = { id: 'custom' as const, label: 'Your images' };

export class ImageStore {
  readonly imagesDir: string;
  readonly layers: LayerStore;
  private readonly inFlight = new Map<string, Promise<ImageRecord>>();
  private readonly failures = new Map<string, string>();

  constructor(private readonly opts: ImageStoreOptions) {
    this.imagesDir = opts.imagesDir;
    this.layers = new LayerStore(opts.imagesDir);
  }

  categories(): Array<{ id: ImageCategory | 'custom'; label: string }> {
    return [...IMAGE_CATEGORIES.map((c) => ({ ...c })), { ...CUSTOM_CATEGORY }];
  }

  /** Catalog entries with this host's build state, then the stored images that have names. */
  async list(query: CatalogQuery = {}): Promise<ImageListItem[]> {
    const names = await this.layers.names();
    const catalog = await Promise.all(filterCatalog(IMAGE_CATALOG, query).map((img) => this.catalogItem(img)));
    const custom = await this.customItems(names, query);
    return [...catalog, ...custom];
  }

  private async catalogItem(img: CatalogImage): Promise<ImageListItem> {
    const status = await this.status(img.id);
    const rec = await this.currentCatalogImage(img);
    const error = status === 'failed' ? this.failures.get(img.id) : undefined;
    return {
      ...toCatalogEntry(img), built: status === 'ready', status, source: 'catalog',
      ...(rec ? { digest: rec.id, size_bytes: rec.size_bytes, layers: rec.layers.length, created_at: rec.created_at } : {}),
      ...(error ? { error, error_code: BUILD_FAILED_CODE } : {}),
    };
  }

  private async customItems(names: Record<string, string>, query: CatalogQuery): Promise<ImageListItem[]> {
    const category = query.category?.trim().toLowerCase();
    if (category && category !== 'all' && category !== 'custom') return [];
    const words = (query.search ?? '').toLowerCase().split(/\s+/).filter(Boolean);
    const out: ImageListItem[] = [];
    for (const [name, id] of Object.entries(names)) {
      if (resolveImage(name)) continue; // a catalog name: listed above
      const rec = await this.layers.image(id);
      if (!rec || !words.every((w) => name.includes(w) || rec.source.includes(w))) continue;
      out.push(customItem(name, rec));
    }
    return out;
  }

  /** Catalog image by id (`node-20`) or image ref (`oblien/node:20`); null when not in the catalog. */
  catalogEntry(idOrRef: string): CatalogImage | null {
    return resolveImage(idOrRef);
  }

  /** What `nameOrRef` stands for: a catalog image or a stored image (name, `sha256:` id or its prefix). */
  async resolve(nameOrRef: string): Promise<ResolvedImage | null> {
    const catalog = resolveImage(nameOrRef);
    if (catalog) return { name: catalog.id, catalog, image: await this.currentCatalogImage(catalog) };
    const image = await this.layers.resolve(nameOrRef.trim());
    return image ? { name: nameOrRef.trim(), catalog: null, image } : null;
  }

  /**
   * The stored image under a catalog id, if it is made of the layers its recipe makes today;
   * null otherwise (never built, or a recipe or the host's Node changed: the next ensure
   * builds the new layers and moves the name, and workspaces pinned to the old image keep it).
   */
  private async currentCatalogImage(img: CatalogImage): Promise<ImageRecord | null> {
    const id = (await this.layers.names())[img.id];
    const rec = id ? await this.layers.image(id) : null;
    if (!rec) return null;
    const wanted = await Promise.all(img.recipe.layers.map((n) => builtLayer(this.layers, n)));
    return wanted.every((d, i) => d === rec.layers[i]) && wanted.length === rec.layers.length ? rec : null;
  }

  async status(idOrRef: string): Promise<ImageStatus> {
    const img = resolveImage(idOrRef);
    if (!img) return (await this.layers.resolve(idOrRef)) ? 'ready' : 'not_built';
    if (await this.currentCatalogImage(img)) return 'ready';
    if (this.inFlight.has(img.id)) return 'building';
    for (const name of img.recipe.layers) {
      if (await lockOwner(join(this.imagesDir, `layer-${name}.lock`)) !== null) return 'building';
    }
    return this.failures.has(img.id) ? 'failed' : 'not_built';
  }

  /** The stored image for a name, building a catalog image first if needed (once). */
  async ensure(nameOrRef: string): Promise<ImageRecord> {
    const resolved = await this.resolve(nameOrRef);
    if (!resolved) throw new AppError('INVALID_IMAGE', `Unknown image: ${nameOrRef}`, { field: 'image' });
    if (resolved.image) return resolved.image;
    const img = resolved.catalog!;
    const pending = this.inFlight.get(img.id);
    if (pending) return pending;
    const build = this.buildCatalog(img).finally(() => this.inFlight.delete(img.id));
    this.inFlight.set(img.id, build);
    return build;
  }

  /** Host directories of the image's layers, base first. */
  layerDirs(rec: ImageRecord): string[] {
    return rec.layers.map((d) => this.layers.layerDir(d));
  }

  /** A workspace made before images had layers: its catalog image's old single rootfs, if still there. */
  legacyRootfs(name: string): string | null {
    return isLegacyImage(this.imagesDir, name) ? join(this.imagesDir, name, 'rootfs') : null;
  }

  /** Builds every catalog image, one after another; resolves with id → record. */
  async buildAll(ids: string[] = IMAGE_CATALOG.map((i) => i.id)): Promise<Record<string, ImageRecord>> {
    const out: Record<string, ImageRecord> = {};
    for (const id of ids) out[id] = await this.ensure(id);
    return out;
  }

  private async buildCatalog(img: CatalogImage): Promise<ImageRecord> {
    this.failures.delete(img.id);
    const started = Date.now();
    try {
      const rec = await buildCatalogImage(img, {
        store: this.layers, mirror: this.opts.mirror,
        report: (phase, message) => this.opts.onProgress?.({ image: img.id, phase, message }),
      });
      this.opts.onBuilt?.(img.id, (Date.now() - started) / 1000);
      return rec;
    } catch (err) {
      this.failures.set(img.id, BUILD_FAILED_MESSAGE);
      this.opts.onProgress?.({ image: img.id, phase: 'done', message: `build failed: ${String(err)}` });
      throw err;
    }
  }
}

function customItem(name: string, rec: ImageRecord): ImageListItem {
  const mb = (rec.size_bytes / 1e6).toFixed(0);
  return {
    id: name, image: name, label: name,
    desc: `${rec.source[0]!.toUpperCase()}${rec.source.slice(1)} image, ${rec.layers.length} layers, ${mb} MB (${shortDigest(rec.id)})`,
    category: 'custom', built: true, status: 'ready', source: rec.source,
    digest: rec.id, size_bytes: rec.size_bytes, layers: rec.layers.length, created_at: rec.created_at,
  };
}
