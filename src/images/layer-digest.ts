/**
 * The digest of a layer made on this host (catalog layer, build step, committed
 * workspace): sha256 of a canonical uncompressed tar of its directory (sorted names,
 * numeric owners, no access/change times), so the same files always give the same id.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';

const TAR_ARGS = ['--sort=name', '--format=pax', '--numeric-owner', '--xattrs', '--xattrs-include=trusted.overlay.opaque',
  '--pax-option=delete=atime,delete=ctime', '-cf', '-', '.'];

export function digestLayerDir(dir: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    const child = spawn('tar', ['-C', dir, ...TAR_ARGS], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stdout.on('data', (b: Buffer) => hash.update(b));
    child.stderr.on('data', (b: Buffer) => { err += b.toString(); });
    child.once('error', reject);
    child.once('close', (code) => {
      if (code === 0) resolve(`sha256:${hash.digest('hex')}`);
      else reject(new Error(`tar of layer ${dir} failed (${code}): ${err.slice(-500)}`));
    });
  });
}
