/**
 * The workspace image catalog: what `GET /workspace/images` lists besides imported and
 * built images. Every entry is buildable on a fresh host from Debian's archive alone
 * (plus the host's own Node 20 for the node layer), so the catalog never advertises an
 * image that cannot be created. Entries share layers (catalog-layers.ts): debian-12 is
 * the base, the others stack on it, so the disk holds each file once.
 *
 * Pure data and pure functions only; building lives in catalog-build.ts, state in image-store.ts.
 */
import type { CatalogLayerName } from './catalog-layers.js';

export type ImageCategory = 'os' | 'devtools' | 'runtime' | 'ai' | 'browser' | 'database' | 'infra';

export interface ImageResources {
  cpus?: number;
  memory_mb?: number;
  disk_size_mb?: number;
}

/** The wire shape (spec §20 `ImageCatalogEntry`). */
export interface ImageCatalogEntry {
  id: string;
  /** Docker-like reference; accepted wherever a catalog id is. */
  image: string;
  label: string;
  desc: string;
  category: ImageCategory;
  logo?: string;
  color?: string;
  capabilities?: string[];
  vm_defaults?: ImageResources;
  minimum_resources?: ImageResources;
}

/** How to build an image: its layers (catalog-layers.ts), base first, and checks. Not sent on the wire. */
export interface ImageRecipe {
  layers: CatalogLayerName[];
  /** Commands run inside the finished image; each must exit 0. Output lands in the build log. */
  verify: string[][];
}

/** A catalog entry plus the data used to search for it and build it. */
export interface CatalogImage extends ImageCatalogEntry {
  /** Extra refs/names that resolve to this image (e.g. `node:20`). */
  aliases: string[];
  /** Words that should find this image in a search (what it is good for). */
  keywords: string[];
  /** Notable programs inside; searchable ("contents" in the SDK docs). */
  contents: string[];
  recipe: ImageRecipe;
}

export const IMAGE_CATEGORIES: ReadonlyArray<{ id: ImageCategory; label: string }> = [
  { id: 'os', label: 'Operating Systems' },
  { id: 'devtools', label: 'Developer Tools' },
  { id: 'runtime', label: 'Runtimes' },
  { id: 'ai', label: 'AI & Agents' },
  { id: 'browser', label: 'Browsers' },
  { id: 'database', label: 'Databases' },
  { id: 'infra', label: 'Infrastructure' },
];

const PYTHON_VERIFY = [['python3', '--version'], ['python3', '-m', 'pip', '--version'], ['python3', '-m', 'venv', '--help']];
const DEV_VERIFY = [['/bin/sh', '-c', 'true'], ['git', '--version'], ['curl', '--version'], ['rg', '--version']];

export const IMAGE_CATALOG: ReadonlyArray<CatalogImage> = [
  {
    id: 'node-20',
    image: 'oblien/node:20',
    label: 'Node.js 20',
    desc: 'Debian 12 with Node.js 20 LTS and npm, plus git, curl and ripgrep.',
    category: 'runtime',
    logo: 'node',
    color: '#3C873A',
    capabilities: ['node', 'npm', 'git'],
    vm_defaults: { cpus: 1, memory_mb: 1024, disk_size_mb: 4096 },
    minimum_resources: { cpus: 1, memory_mb: 256, disk_size_mb: 512 },
    aliases: ['node:20', 'node20', 'nodejs-20', 'oblien/node-20'],
    keywords: ['javascript', 'typescript', 'nodejs', 'js', 'ts', 'express', 'next', 'react', 'vite', 'lts'],
    contents: ['node', 'npm', 'npx', 'git', 'curl', 'ripgrep', 'rg', 'bash', 'coreutils', 'debian'],
    recipe: { layers: ['base', 'tools', 'node'], verify: [...DEV_VERIFY, ['node', '-v'], ['npm', '-v']] },
  },
  {
    id: 'python-3',
    image: 'oblien/python:3.11',
    label: 'Python 3.11',
    desc: 'Debian 12 with Python 3.11, pip and venv, plus git, curl and ripgrep.',
    category: 'runtime',
    logo: 'python',
    color: '#306998',
    capabilities: ['python', 'pip', 'git'],
    vm_defaults: { cpus: 1, memory_mb: 1024, disk_size_mb: 4096 },
    minimum_resources: { cpus: 1, memory_mb: 256, disk_size_mb: 512 },
    aliases: ['python:3.11', 'python3', 'python-3.11', 'python:3', 'oblien/python-3'],
    keywords: ['py', 'django', 'flask', 'fastapi', 'data', 'scripting', 'jupyter'],
    contents: ['python3', 'pip', 'venv', 'git', 'curl', 'ripgrep', 'rg', 'bash', 'coreutils', 'debian'],
    recipe: { layers: ['base', 'tools', 'python'], verify: [...DEV_VERIFY, ...PYTHON_VERIFY] },
  },
  {
    id: 'debian-12',
    image: 'debian:12',
    label: 'Debian 12',
    desc: 'Minimal Debian 12 (bookworm): a POSIX shell, coreutils and apt.',
    category: 'os',
    logo: 'debian',
    color: '#A81D33',
    capabilities: ['apt'],
    vm_defaults: { cpus: 1, memory_mb: 512, disk_size_mb: 2048 },
    minimum_resources: { cpus: 1, memory_mb: 64, disk_size_mb: 256 },
    aliases: ['debian:bookworm', 'debian', 'bookworm', 'debian:latest', 'debian-bookworm'],
    keywords: ['linux', 'minimal', 'base', 'bookworm', 'os', 'apt', 'shell'],
    contents: ['sh', 'dash', 'bash', 'coreutils', 'apt', 'dpkg', 'procps'],
    recipe: { layers: ['base'], verify: [['/bin/sh', '-c', 'true'], ['ls', '/'], ['apt-get', '--version']] },
  },
  {
    id: 'dev',
    image: 'oblien/dev:latest',
    label: 'Developer toolbox',
    desc: 'Debian 12 with build-essential, git, Python 3.11, Node.js 20, ripgrep and OpenSSH.',
    category: 'devtools',
    logo: 'terminal',
    color: '#24292F',
    capabilities: ['gcc', 'make', 'python', 'node', 'git', 'ssh'],
    vm_defaults: { cpus: 2, memory_mb: 2048, disk_size_mb: 8192 },
    minimum_resources: { cpus: 1, memory_mb: 512, disk_size_mb: 1024 },
    aliases: ['oblien/dev', 'devtools', 'dev-toolbox', 'build-essential'],
    keywords: ['c', 'c++', 'gcc', 'make', 'compile', 'build', 'toolchain', 'agent', 'coding'],
    contents: ['gcc', 'g++', 'make', 'git', 'python3', 'pip', 'node', 'npm', 'rg', 'ssh', 'sshd', 'bash', 'debian'],
    recipe: {
      layers: ['base', 'tools', 'python', 'node', 'devtools'],
      verify: [...DEV_VERIFY, ...PYTHON_VERIFY, ['node', '-v'], ['gcc', '--version'], ['make', '--version'],
        ['ssh', '-V'], ['test', '-x', '/usr/sbin/sshd']],
    },
  },
];

export interface CatalogQuery {
  search?: string;
  /** A category id or `all` (no filter). Unknown categories match nothing. */
  category?: string;
}

/** Lower-cases and strips the registry prefixes Docker treats as implicit. */
export function normalizeRef(ref: string): string {
  let r = ref.trim().toLowerCase();
  for (const prefix of ['docker.io/', 'index.docker.io/', 'registry-1.docker.io/']) {
    if (r.startsWith(prefix)) r = r.slice(prefix.length);
  }
  if (r.startsWith('library/')) r = r.slice('library/'.length);
  return r;
}

function searchableText(img: CatalogImage): string[] {
  return [img.id, img.label, img.desc, img.image, ...img.aliases, ...img.keywords, ...img.contents]
    .map((s) => s.toLowerCase());
}

/**
 * Pure filter behind `GET /workspace/images`. `search` is a case-insensitive substring
 * match on id, label, description, image ref, aliases, keywords and contents; several
 * words must all match. `category` `all`, empty or absent means every category.
 */
export function filterCatalog(
  images: ReadonlyArray<CatalogImage>,
  query: CatalogQuery = {},
): CatalogImage[] {
  const category = query.category?.trim().toLowerCase();
  const words = (query.search ?? '').toLowerCase().split(/\s+/).filter(Boolean);
  return images.filter((img) => {
    if (category && category !== 'all' && img.category !== category) return false;
    if (words.length === 0) return true;
    const text = searchableText(img);
    return words.every((w) => text.some((t) => t.includes(w)));
  });
}

/**
 * Resolves a catalog id (`node-20`, the seed's form) or an image reference
 * (`oblien/node:20`, the SDK docs' form) to its catalog image; null when unknown.
 */
export function resolveImage(
  idOrRef: string,
  images: ReadonlyArray<CatalogImage> = IMAGE_CATALOG,
): CatalogImage | null {
  const wanted = normalizeRef(idOrRef);
  if (!wanted) return null;
  const byId = images.find((img) => img.id.toLowerCase() === wanted);
  if (byId) return byId;
  return images.find((img) =>
    normalizeRef(img.image) === wanted || img.aliases.some((a) => normalizeRef(a) === wanted)) ?? null;
}

/** The wire projection: drops recipe, aliases, keywords and contents. */
export function toCatalogEntry(img: CatalogImage): ImageCatalogEntry {
  const { aliases: _a, keywords: _k, contents: _c, recipe: _r, ...entry } = img;
  return entry;
}
