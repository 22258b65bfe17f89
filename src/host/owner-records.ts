/**
 * Owner records of Warren bridges: `<run dir>/bridges/<bridge>.json`, one per bridge,
 * naming the data dir of the instance that owns the bridge and its firewall tables
 * (src/host/bridge-owner.ts). The run dir is `/run/warren` (tmpfs: records vanish at
 * reboot, as bridges and nft tables do); WARREN_RUN_DIR moves it for hosts without /run.
 */
import { link, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { OwnerRecord } from './bridge-owner.js';

const BRIDGE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/;

export function runDir(): string {
  return process.env.WARREN_RUN_DIR || '/run/warren';
}

function recordsDir(): string {
  return join(runDir(), 'bridges');
}

export function recordPath(bridge: string): string {
  if (!BRIDGE_NAME.test(bridge)) throw new Error(`invalid bridge name ${JSON.stringify(bridge)}`);
  return join(recordsDir(), `${bridge}.json`);
}

function isRecord(v: unknown): v is OwnerRecord {
  const r = v as Partial<OwnerRecord> | null;
  return typeof r === 'object' && r !== null && typeof r.bridge === 'string' && typeof r.dataDir === 'string'
    && typeof r.instanceId === 'string' && typeof r.subnet === 'string' && typeof r.pid === 'number'
    && typeof r.tables?.inet === 'string' && typeof r.tables?.bridge === 'string';
}

/** The record of `bridge`; null when there is none or it is unreadable (then the tables decide). */
export async function readRecord(bridge: string): Promise<OwnerRecord | null> {
  try {
    const doc = JSON.parse(await readFile(recordPath(bridge), 'utf8')) as unknown;
    return isRecord(doc) ? { ...doc, driver: typeof doc.driver === 'string' ? doc.driver : 'ns' } : null;
  } catch {
    return null;
  }
}

/** Every readable record on this host. */
export async function listRecords(): Promise<OwnerRecord[]> {
  let names: string[];
  try {
    names = await readdir(recordsDir());
  } catch {
    return [];
  }
  const out: OwnerRecord[] = [];
  for (const name of names.filter((n) => n.endsWith('.json')).sort()) {
    const rec = await readRecord(name.slice(0, -'.json'.length)).catch(() => null);
    if (rec) out.push(rec);
  }
  return out;
}

/**
 * Writes `rec`. `exclusive`: only if no record exists (returns false when another one
 * appeared first — two instances starting at once); otherwise replaces it atomically.
 */
export async function writeRecord(rec: OwnerRecord, exclusive: boolean): Promise<boolean> {
  const path = recordPath(rec.bridge);
  await mkdir(recordsDir(), { recursive: true, mode: 0o755 });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(rec, null, 2)}\n`, { mode: 0o644 });
  try {
    if (!exclusive) {
      await rename(tmp, path);
      return true;
    }
    await link(tmp, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await rm(tmp, { force: true });
  }
}

/** Removes the record of `bridge` if it names `dataDir` (never another instance's). */
export async function removeRecord(bridge: string, dataDir: string): Promise<void> {
  const rec = await readRecord(bridge);
  if (rec && rec.dataDir !== dataDir) return;
  await rm(recordPath(bridge), { force: true });
}
