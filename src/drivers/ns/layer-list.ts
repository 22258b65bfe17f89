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
import type { LayerEntry } from '../driver.js';
import { mountsUnder, unmountAll } from '../../storage/mounts.js';
import { spawnJailed } from '../../storage/jail.js';
import { statePaths } from './names.js';
import { hasExt4, mountedHere, mountLayerImage } from './storage.js';

const TYPES: Record<string, LayerEntry['type']> = { f: 'file', d: 'dir', l: 'symlink', c: 'deleted' };

async function listUpper(upper: string, limit: number): Promise<{ entries: LayerEntry[]; truncated: boolean }> {
  if (!existsSync(upper)) return { entries: [], truncated: false };
  // NUL-terminated records: a file name may hold tabs and newlines, never NUL.
  const find = spawnJailed(upper, ['/usr/bin/find', '.', '-mindepth', '1', '-printf', '%y\\t%s\\t%P\\0'], false);
  find.stdin!.end();
  find.stderr!.resume();
  find.stdout!.setEncoding('utf8'); // whole characters per chunk
  const entries: LayerEntry[] = [];
  let truncated = false;
  let rest = '';
  for await (const chunk of find.stdout!) {
    const records = (rest + (chunk as string)).split('\0');
    rest = records.pop() ?? '';
    for (const record of records) {
      if (entries.length >= limit) {
        truncated = true;
        break;
      }
      const [t, size, ...path] = record.split('\t');
      if (!t || path.length === 0) continue;
      entries.push({ path: `/${path.join('\t')}`, type: TYPES[t] ?? 'other', size: t === 'f' ? Number(size) : 0 });
    }
    if (truncated) break;
  }
  find.kill('SIGKILL');
  return { entries, truncated };
}

export async function listChanges(stateDir: string, scratchDir: string, limit: number) {
  const p = statePaths(stateDir);
  if (mountedHere(p.upperFs)) return listUpper(join(p.upperFs, 'upper'), limit);
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
