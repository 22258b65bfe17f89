/**
 * The host's filesystem as the domain sees it (FilesPort, DirectoriesPort in
 * src/domain/ports.ts): control files written atomically, workspace and warm-pool
 * directories made, moved, listed and removed.
 */
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import type { DirectoriesPort, FilesPort } from '../domain/ports.js';

export class HostFiles implements FilesPort, DirectoriesPort {
  async writeAtomic(path: string, data: string, mode: number): Promise<void> {
    const tmp = `${path}.tmp-${process.pid}`;
    await writeFile(tmp, data, { mode });
    await rename(tmp, path);
  }

  async readText(path: string): Promise<string | null> {
    try {
      return await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async make(path: string, mode: number): Promise<void> {
    await mkdir(path, { recursive: true, mode });
  }

  async move(from: string, to: string): Promise<void> {
    await rename(from, to);
  }

  /**
   * Retries a directory a late writer refilled mid-removal (ENOTEMPTY: e.g. the boot log's
   * queued appends, src/storage/boot-log.ts, landing while a workspace is deleted).
   */
  async remove(path: string): Promise<void> {
    await rm(path, { recursive: true, force: true, maxRetries: 5, retryDelay: 20 });
  }

  async list(path: string): Promise<string[]> {
    return readdir(path).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return [];
      throw err;
    });
  }
}

/** One instance serves every caller: it holds no state. */
export const hostFiles = new HostFiles();
