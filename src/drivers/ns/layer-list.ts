/**
 * What a writable layer holds (the files that differ from the image): the overlay
 * upper, listed by `find` in the jail (the tree is the workspace's; a directory swapped
 * for a symlink mid-walk must not lead the walk into the host). A stopped sandbox's
 * image is mounted read-only for the listing. Overlay whiteouts (0:0 character
 * devices) are reported as deleted paths.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { LayerEntry } from '../driver.js';
import { isMounted, mountsUnder, unmountAll } from '../../storage/mounts.js';
import { spawnJailed } from './jail.js';
import { statePaths } from './names.js';
import { hasExt4, mountLayerImage } from './storage.js';

const TYPES: Record<string, LayerEntry['type']> = { f: 'file', d: 'dir', l: 'symlink', c: 'deleted' };

async function listUpper(upper: string, limit: number): Promise<{ entries: LayerEntry[]; truncated: boolean }> {
  if (!existsSync(upper)) return { entries: [], truncated: false };
  const find = spawnJailed(upper, ['/usr/bin/find', '.', '-mindepth', '1', '-printf', '%y\t%s\t%P\n'], false);
  find.stdin!.end();
  find.stderr!.resume();
  const entries: LayerEntry[] = [];
  let truncated = false;
  const lines = createInterface({ input: find.stdout! });
  for await (const line of lines) {
    if (entries.length >= limit) {
      truncated = true;
      break;
    }
    const [t, size, path] = line.split('\t');
    if (!t || path === undefined) continue;
    entries.push({ path: `/${path}`, type: TYPES[t] ?? 'other', size: t === 'f' ? Number(size) : 0 });
  }
  lines.close();
  find.kill('SIGKILL');
  return { entries, truncated };
}

export async function listChanges(stateDir: string, scratchDir: string, limit: number) {
  const p = statePaths(stateDir);
  if (await isMounted(p.upperFs)) return listUpper(join(p.upperFs, 'upper'), limit);
  if (!(await hasExt4(p.disk))) return { entries: [], truncated: false };
  const work = await mkdtemp(join(scratchDir, 'list-'));
  try {
    const mnt = join(work, 'fs');
    await mkdir(mnt);
    await mountLayerImage(p.disk, mnt, true);
    return await listUpper(join(mnt, 'upper'), limit);
  } finally {
    for (const m of await mountsUnder(work)) await unmountAll(m);
    await rm(work, { recursive: true, force: true });
  }
}
