/**
 * The layers the catalog's images are made of (pure data). Each layer is built once on
 * top of the layers it names in `on` and shared by every image that lists it:
 *
 *   base      debootstrap minbase of Debian 12 + ca-certificates, procps   (debian-12)
 *   tools     git, curl, ripgrep                                           (on base)
 *   python    Python 3.11, pip, venv                                       (on base, tools)
 *   node      the host's Node 20 and npm in /usr/local                     (on base, tools)
 *   devtools  build-essential, OpenSSH client and server                   (on base … node)
 *
 * `node` touches only /usr/local, so it stacks on `python` as well as on `tools`: the
 * dev image reuses it instead of holding a second copy of Node.
 *
 * A layer's key (`layerKey`) covers its recipe and the keys of the layers under it, so
 * changing a recipe rebuilds that layer and those above; FORMAT is bumped when the way
 * layers are made changes.
 */
import { createHash } from 'node:crypto';

export type CatalogLayerName = 'base' | 'tools' | 'python' | 'node' | 'devtools';

export interface CatalogLayerRecipe {
  name: CatalogLayerName;
  /** Layers it is built on, base first (empty: built from nothing by debootstrap). */
  on: CatalogLayerName[];
  /** Debian packages installed (`--no-install-recommends`). */
  packages: string[];
  /** Copy the host's Node 20 (binary + npm) into /usr/local. */
  hostNode?: boolean;
}

const FORMAT = 'warren-catalog-layer-2'; // 2: layer ids are packLayer digests
export const DEBIAN_SUITE = 'bookworm';

export const CATALOG_LAYERS: Readonly<Record<CatalogLayerName, CatalogLayerRecipe>> = {
  base: { name: 'base', on: [], packages: ['ca-certificates', 'procps'] },
  tools: { name: 'tools', on: ['base'], packages: ['git', 'curl', 'ripgrep'] },
  python: { name: 'python', on: ['base', 'tools'], packages: ['python3', 'python3-pip', 'python3-venv'] },
  node: { name: 'node', on: ['base', 'tools'], packages: [], hostNode: true },
  devtools: {
    name: 'devtools', on: ['base', 'tools', 'python', 'node'],
    packages: ['build-essential', 'openssh-client', 'openssh-server', 'less', 'nano', 'unzip', 'xz-utils'],
  },
};

/**
 * The cache key of a layer: its recipe, the keys of the layers it is built on, and
 * (for `hostNode`) the host's Node version — a new Node on the host makes a new layer.
 */
export function layerKey(name: CatalogLayerName, nodeVersion: string = process.version): string {
  const r = CATALOG_LAYERS[name];
  const h = createHash('sha256').update(FORMAT).update(DEBIAN_SUITE).update(r.name).update(r.packages.join(','));
  if (r.hostNode) h.update(`node ${nodeVersion}`);
  for (const parent of r.on) h.update(layerKey(parent, nodeVersion));
  return h.digest('hex').slice(0, 32);
}
