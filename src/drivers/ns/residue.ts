/**
 * Finding a sandbox's host objects by name alone (no stored record): netns files,
 * cgroup directories (which also hold every live sandbox process), overlay mounts
 * (source `warren-<instance>-<shortId>`) and loop mounts at `<stateDir>/upper-fs`
 * whose `sandbox.json` marker names this instance.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { listNetns } from '../../network/plumbing.js';
import { readMounts } from '../../storage/mounts.js';
import { CONTROLLERS, isShortId, statePaths, type SandboxNames } from './names.js';

interface Marker {
  instanceId: string;
  shortId: string;
  id: string;
}

export async function writeMarker(stateDir: string, marker: Marker): Promise<void> {
  await writeFile(statePaths(stateDir).marker, `${JSON.stringify(marker)}\n`);
}

async function readMarker(stateDir: string): Promise<Marker | undefined> {
  try {
    return JSON.parse(await readFile(statePaths(stateDir).marker, 'utf8')) as Marker;
  } catch {
    return undefined;
  }
}

/** Mount points (deepest first) that belong to sandbox `shortId` of this instance. */
export async function sandboxMounts(names: SandboxNames, shortId?: string): Promise<{ shortId: string; mountPoint: string }[]> {
  const found: { shortId: string; mountPoint: string }[] = [];
  const prefix = names.overlaySource('');
  for (const m of await readMounts()) {
    if (m.fstype === 'overlay' && m.source.startsWith(prefix)) {
      const id = m.source.slice(prefix.length);
      if (isShortId(id)) found.push({ shortId: id, mountPoint: m.mountPoint });
    } else if (m.mountPoint.endsWith('/upper-fs') && m.source.startsWith('/dev/loop')) {
      const marker = await readMarker(dirname(m.mountPoint));
      if (marker?.instanceId === names.instanceId && isShortId(marker.shortId)) {
        found.push({ shortId: marker.shortId, mountPoint: m.mountPoint });
      }
    }
  }
  return found.filter((f) => shortId === undefined || f.shortId === shortId).reverse();
}

async function cgroupShortIds(names: SandboxNames): Promise<string[]> {
  const ids: string[] = [];
  for (const c of CONTROLLERS) {
    try {
      ids.push(...(await readdir(names.cgroupParent(c))).filter(isShortId));
    } catch {
      /* no parent: no sandboxes under this controller */
    }
  }
  return ids;
}

/** Every shortId of this instance with something left on the host. */
export async function listResidueIds(names: SandboxNames): Promise<string[]> {
  const ids = new Set<string>();
  for (const ns of await listNetns()) {
    const id = names.shortIdOfNetns(ns);
    if (id) ids.add(id);
  }
  for (const id of await cgroupShortIds(names)) ids.add(id);
  for (const m of await sandboxMounts(names)) ids.add(m.shortId);
  return [...ids].sort();
}
