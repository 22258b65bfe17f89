/**
 * `warren images …`: the image store from the command line.
 *   list                      every image: catalog (with build state), imported, built, committed
 *   build [ID…]               builds catalog images ahead of their first use
 *   build -f Dockerfile [ctx] --name N …   builds an image from a Dockerfile (src/cli/image-build.ts)
 *   import <path> [--name N]  imports an OCI layout (dir or tar) or a `docker save` archive
 *   export <name> <file.tar>  writes an image as a standard OCI archive (skopeo / docker load read it)
 *   commit <workspace> <name> saves a workspace as an image (through the running server)
 *   delete <name>             removes an image no workspace uses (through the running server)
 * List, build, import and export work on the images directory alone (the store is files
 * under one lock, shared safely with a running server); commit and delete need the server
 * (src/cli/remote.ts), which knows the workspaces.
 */
import type { WarrenConfig } from '../config/config.js';
import { ImageStore } from '../images/image-store.js';
import { createProgressPrinter } from '../images/progress.js';
import { remote } from './remote.js';
import { BUILD_USAGE, buildImageCommand, isDockerfileBuild } from './image-build.js';
import { resolve } from 'node:path';
import { parseImageName } from '../contract/images.js';
import { importArchive } from '../images/import.js';
import { fromImageConfig, ociArchiveReader, writeOciArchive } from '../images/oci/index.js';

export const IMAGES_USAGE = `  warren images list [--images-dir DIR]
  warren images build [ID...] [--images-dir DIR]          (catalog: debian-12, node-20, python-3, dev)
${BUILD_USAGE}   (through the running server)
  warren images import <path> [--name N] [--images-dir DIR] (OCI layout dir or tar, docker save tar)
  warren images export <name> <file.tar> [--images-dir DIR] (a standard OCI archive)
  warren images commit <workspace> <name> [--url URL]      (saves a workspace as an image)
  warren images delete <name> [--url URL]`;

const out = (line: string) => process.stdout.write(`${line}\n`);

export interface ImagesOptions {
  url?: string;
  name?: string;
  /** The arguments after the subcommand as typed (a Dockerfile build parses its own). */
  raw?: string[];
}

export async function imagesCommand(cfg: WarrenConfig, sub: string | undefined, args: string[], opts: ImagesOptions = {}): Promise<void> {
  if (sub === 'build' && isDockerfileBuild(opts.raw ?? [])) return buildImageCommand(cfg, opts.raw ?? []);
  const store = new ImageStore({ imagesDir: cfg.imagesDir, onProgress: createProgressPrinter(out) });
  switch (sub) {
    case 'list':
      for (const img of await store.list({})) {
        const digest = img.digest ? img.digest.slice(7, 19) : '-';
        out(`${img.id}\t${img.status}\t${img.source}\t${digest}\t${img.label}`);
      }
      return;
    case 'build': {
      const ids = args.length ? args : (await store.list({})).filter((i) => i.source === 'catalog').map((i) => i.id);
      for (const id of ids) {
        const rec = await store.ensure(id);
        out(`${id}: ready, ${rec.layers.length} layers, ${(rec.size_bytes / 1e6).toFixed(0)} MB (${rec.id.slice(7, 19)})`);
      }
      return;
    }
    case 'import': {
      const [path] = args;
      if (!path) throw new Error(`usage:\n${IMAGES_USAGE}`);
      const name = opts.name === undefined ? undefined : parseImageName(opts.name);
      if (name && store.catalogEntry(name)) throw new Error(`${name} is a catalog image's name; choose another`);
      const r = await importArchive(store.layers, ociArchiveReader, { path: resolve(path), name, limits: cfg.imageImport.limits, onProgress: out });
      out(`${r.name ?? r.image.id}: ${r.image.id.slice(7, 19)}, ${r.image.layers.length} layers (${r.reused} already stored)`);
      return;
    }
    case 'export': {
      const [name, file] = args;
      if (!name || !file) throw new Error(`usage:\n${IMAGES_USAGE}`);
      const rec = await store.ensure(name);
      const res = await writeOciArchive({ layers: store.layerDirs(rec).map((dir) => ({ dir })), config: fromImageConfig(rec.config), refName: name }, resolve(file));
      // An imported layer's id is its archive's diff_id; the export packed other bytes: remember them.
      await store.layers.locked(async () => {
        for (const [i, d] of res.layers.entries()) await store.layers.addAlias(d, rec.layers[i]!);
      });
      out(`${name}: ${res.layers.length} layers written to ${file}`);
      for (const d of res.layers) out(`  ${d}`);
      return;
    }
    case 'commit': {
      const [ws, name] = args;
      if (!ws || !name) throw new Error(`usage:\n${IMAGES_USAGE}`);
      const res = await remote(cfg, opts.url).call('POST', `/workspace/${encodeURIComponent(ws)}/image`, { name });
      const img = res.image as { id: string; layers: string[] };
      out(`${name}: ${img.id.slice(7, 19)}, ${img.layers.length} layers`);
      return;
    }
    case 'delete': {
      const [name] = args;
      if (!name) throw new Error(`usage:\n${IMAGES_USAGE}`);
      const res = await remote(cfg, opts.url).call('DELETE', `/images/${name.split('/').map(encodeURIComponent).join('/')}`);
      out(`${name}: deleted, ${String(res.layersRemoved)} layers removed`);
      return;
    }
    default:
      throw new Error(`usage:\n${IMAGES_USAGE}`);
  }
}
