/**
 * `warren images …`: the image store from the command line.
 *   list                      every image: catalog (with build state), imported, built, committed
 *   build [ID…]               builds catalog images ahead of their first use
 *   build -f Dockerfile [ctx] --name N …   builds an image from a Dockerfile (src/cli/image-build.ts)
 *   commit <workspace> <name> saves a workspace as an image (through the running server)
 *   delete <name>             removes an image no workspace uses (through the running server)
 * List and build work on the images directory alone; commit and delete need the server
 * (src/cli/remote.ts), which knows the workspaces.
 */
import type { WarrenConfig } from '../config/config.js';
import { ImageStore } from '../images/image-store.js';
import { createProgressPrinter } from '../images/progress.js';
import { remote } from './remote.js';
import { BUILD_USAGE, buildImageCommand, isDockerfileBuild } from './image-build.js';

export const IMAGES_USAGE = `  warren images list [--images-dir DIR]
  warren images build [ID...] [--images-dir DIR]          (catalog: debian-12, node-20, python-3, dev)
${BUILD_USAGE}   (through the running server)
  warren images commit <workspace> <name> [--url URL]      (saves a workspace as an image)
  warren images delete <name> [--url URL]`;

const out = (line: string) => process.stdout.write(`${line}\n`);

/** `raw`: the arguments after the subcommand as typed (a Dockerfile build parses its own). */
export async function imagesCommand(cfg: WarrenConfig, sub: string | undefined, args: string[], url?: string, raw: string[] = []): Promise<void> {
  if (sub === 'build' && isDockerfileBuild(raw)) return buildImageCommand(cfg, raw);
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
    case 'commit': {
      const [ws, name] = args;
      if (!ws || !name) throw new Error(`usage:\n${IMAGES_USAGE}`);
      const res = await remote(cfg, url).call('POST', `/workspace/${encodeURIComponent(ws)}/image`, { name });
      const img = res.image as { id: string; layers: string[] };
      out(`${name}: ${img.id.slice(7, 19)}, ${img.layers.length} layers`);
      return;
    }
    case 'delete': {
      const [name] = args;
      if (!name) throw new Error(`usage:\n${IMAGES_USAGE}`);
      const res = await remote(cfg, url).call('DELETE', `/images/${name.split('/').map(encodeURIComponent).join('/')}`);
      out(`${name}: deleted, ${String(res.layersRemoved)} layers removed`);
      return;
    }
    default:
      throw new Error(`usage:\n${IMAGES_USAGE}`);
  }
}
