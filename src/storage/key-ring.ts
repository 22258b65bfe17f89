/**
 * The signing keys of scoped control-plane JWTs, as JSON in a 0600 file of the data dir
 * (`secrets/access-keys.json`). Saved by writing a temporary file, fsync and rename, so a
 * crash leaves the old ring or the new one, never half of one.
 */
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { KeyRingPort, SigningKey } from '../domain/ports.js';

export function isKey(v: unknown): v is SigningKey {
  const k = v as SigningKey;
  return !!k && typeof k.kid === 'string' && typeof k.key === 'string' && typeof k.createdAt === 'string'
    && (k.retiredAt === null || typeof k.retiredAt === 'string');
}

export class KeyRingFile implements KeyRingPort {
  constructor(private readonly path: string) {}

  async load(): Promise<SigningKey[] | null> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    const data = JSON.parse(text) as { keys?: unknown };
    if (!Array.isArray(data.keys) || !data.keys.every(isKey)) throw new Error(`signing key ring ${this.path} is malformed`);
    return data.keys;
  }

  /** One process per data dir (a single host): load, else save. */
  async create(keys: SigningKey[]): Promise<SigningKey[]> {
    const stored = await this.load();
    if (stored && stored.length > 0) return stored;
    await this.save(keys);
    return keys;
  }

  async save(keys: SigningKey[]): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    const tmp = `${this.path}.tmp`;
    const fh = await open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(JSON.stringify({ keys }, null, 2) + '\n');
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, this.path);
  }
}
