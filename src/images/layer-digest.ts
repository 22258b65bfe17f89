/**
 * The digest of a layer made on this host (catalog layer, build step, saved workspace):
 * sha256 of the canonical OCI layer tar `packLayer` makes of its directory — the very
 * bytes an export writes — so a layer's id is its diff_id in any exported archive, and
 * importing that archive again finds every layer already stored.
 */
import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { packLayer } from './oci/pack.js';

export async function digestLayerDir(dir: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(packLayer(dir), new Writable({
    write(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      cb();
    },
  }));
  return `sha256:${hash.digest('hex')}`;
}
