/**
 * What a Warren instance left on the host that no record of its store owns: network
 * namespaces, bridge ports (host veths), mounts, loop devices, cgroups, nftables
 * elements and files in the data dir. Names follow src/drivers/ns/names.ts (everything
 * carries the instance id, derived from the data dir, or sits under the data dir), so
 * other instances on the same host are never counted. Read while the server is up and
 * reconciled (a crash test's invariant: empty after every restart).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { instanceIdFor } from '../../src/config/load.js';
import type { TestServer } from './warren.js';

export interface OwnedObjects {
  /** Workspace id → its short id, address and state. */
  workspaces: Map<string, { shortId: string; ip: string; state: string; pending: boolean }>;
  /** Snapshot ids by short id. */
  snapshots: Map<string, Set<string>>;
  /** Archive file names by workspace id. */
  archives: Map<string, Set<string>>;
}

/** The store's view, read-only and straight from the SQLite file (the server keeps running). */
export function ownedObjects(dataDir: string): OwnedObjects {
  const db = new Database(join(dataDir, 'warren.db'), { readonly: true, fileMustExist: true });
  try {
    const workspaces = new Map<string, { shortId: string; ip: string; state: string; pending: boolean }>();
    for (const r of db.prepare('SELECT id, short_id, ip, state, pending FROM workspaces').all() as any[]) {
      workspaces.set(r.id, { shortId: r.short_id, ip: r.ip, state: r.state, pending: r.pending !== null });
    }
    const snapshots = new Map<string, Set<string>>();
    for (const r of db.prepare('SELECT id, short_id FROM snapshots').all() as any[]) {
      if (!snapshots.has(r.short_id)) snapshots.set(r.short_id, new Set());
      snapshots.get(r.short_id)!.add(r.id);
    }
    const archives = new Map<string, Set<string>>();
    for (const r of db.prepare('SELECT workspace_id, file FROM archives').all() as any[]) {
      if (!archives.has(r.workspace_id)) archives.set(r.workspace_id, new Set());
      archives.get(r.workspace_id)!.add(r.file);
    }
    return { workspaces, snapshots, archives };
  } finally {
    db.close();
  }
}

function list(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function sh(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return '';
  }
}

/** src/domain/warm-pool.ts POOL_DIR: the warm pool's directory among the workspaces'. */
const WARM_POOL_DIR = '.pool';
const CONTROLLERS = ['memory', 'cpu', 'cpuacct', 'pids', 'freezer', 'devices'];

/** nft set elements (strings) of `family table set`; [] when the table or set is absent. */
function nftElements(family: string, table: string, set: string): string[] {
  const out = sh('nft', ['-j', 'list', 'set', family, table, set]);
  if (!out) return [];
  const items = (JSON.parse(out).nftables as any[]).find((x) => x.set)?.set?.elem ?? [];
  return items.map((e: any) => (typeof e === 'string' ? e : JSON.stringify(e)));
}

/**
 * Every host object of the instance on `s.dataDir` that no record (or warm-pool entry)
 * owns, as readable lines ("netns warren-ab12-0011aabb", …); [] when the host is clean.
 */
export function hostOrphans(s: Pick<TestServer, 'dataDir' | 'bridge'>): string[] {
  const inst = instanceIdFor(s.dataDir);
  const owned = ownedObjects(s.dataDir);
  // Warm-pool sandboxes are owned by the pool (src/domain/warm-pool.ts), named by their directories.
  const pooled = list(join(s.dataDir, 'pool', 'workspaces', WARM_POOL_DIR)).filter((d) => /^[0-9a-f]{8}$/.test(d));
  const shortIds = new Set([...[...owned.workspaces.values()].map((w) => w.shortId), ...pooled]);
  const ips = new Set([...owned.workspaces.values()].map((w) => w.ip));
  const out: string[] = [];

  for (const ns of list('/run/netns')) {
    const m = new RegExp(`^warren-${inst}-([0-9a-f]{8})$`).exec(ns);
    if (m && !shortIds.has(m[1]!)) out.push(`netns ${ns}`);
  }
  for (const port of list(`/sys/class/net/${s.bridge}/brif`)) {
    const m = /^wv([0-9a-f]{8})$/.exec(port);
    if (m && !shortIds.has(m[1]!)) out.push(`veth ${port} on ${s.bridge}`);
  }
  for (const c of CONTROLLERS) {
    for (const id of list(`/sys/fs/cgroup/${c}/warren-${inst}`)) {
      if (/^[0-9a-f]{8}$/.test(id) && !shortIds.has(id)) out.push(`cgroup ${c}/warren-${inst}/${id}`);
    }
  }
  out.push(...mountOrphans(s.dataDir, inst, owned, shortIds));
  out.push(...loopOrphans(s.dataDir, owned));
  for (const ip of nftElements('inet', `warren_${inst}`, 'sandboxes')) if (!ips.has(ip)) out.push(`nft element sandboxes ${ip}`);
  out.push(...fileOrphans(s.dataDir, owned, shortIds));
  return out;
}

function workspaceOfPath(dataDir: string, path: string): string | undefined {
  const prefix = join(dataDir, 'pool', 'workspaces') + '/';
  return path.startsWith(prefix) ? path.slice(prefix.length).split('/')[0] : undefined;
}

function mountOrphans(dataDir: string, inst: string, owned: OwnedObjects, shortIds: Set<string>): string[] {
  const out: string[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const f = line.split(' ');
    if (f.length < 10) continue;
    const mountPoint = f[4]!;
    const source = f[f.indexOf('-') + 2] ?? '';
    const overlay = new RegExp(`^warren-${inst}-([0-9a-f]{8})$`).exec(source);
    if (overlay && !shortIds.has(overlay[1]!)) out.push(`mount ${mountPoint} (overlay ${source})`);
    const ws = workspaceOfPath(dataDir, mountPoint);
    if (ws !== undefined && ws !== WARM_POOL_DIR && !owned.workspaces.has(ws)) out.push(`mount ${mountPoint}`);
    if (mountPoint.startsWith(join(dataDir, 'pool', 'scratch') + '/')) out.push(`temporary mount ${mountPoint}`);
  }
  return out;
}

function loopOrphans(dataDir: string, owned: OwnedObjects): string[] {
  const out: string[] = [];
  for (const dev of list('/sys/block').filter((d) => d.startsWith('loop'))) {
    let backing = '';
    try {
      backing = readFileSync(`/sys/block/${dev}/loop/backing_file`, 'utf8').trim();
    } catch {
      continue; // not attached
    }
    if (!backing.startsWith(dataDir + '/')) continue;
    const ws = workspaceOfPath(dataDir, backing.replace(/ \(deleted\)$/, ''));
    if (backing.endsWith('(deleted)') || (ws !== undefined && ws !== WARM_POOL_DIR && !owned.workspaces.has(ws))) out.push(`loop device /dev/${dev} on ${backing}`);
    if (backing.startsWith(join(dataDir, 'pool', 'scratch') + '/')) out.push(`loop device /dev/${dev} on scratch ${backing}`);
  }
  return out;
}

/** Workspace dirs, snapshot files, archive files and temporary files no record names. */
function fileOrphans(dataDir: string, owned: OwnedObjects, shortIds: Set<string>): string[] {
  const out: string[] = [];
  const pool = join(dataDir, 'pool');
  for (const id of list(join(pool, 'workspaces'))) {
    if (id !== WARM_POOL_DIR && !owned.workspaces.has(id)) out.push(`file ${join(pool, 'workspaces', id)}`);
  }
  for (const shortId of list(join(pool, 'snapshots'))) {
    for (const f of list(join(pool, 'snapshots', shortId))) {
      if (!owned.snapshots.get(shortId)?.has(f.replace(/\.img$/, ''))) out.push(`file ${join(pool, 'snapshots', shortId, f)}`);
    }
    if (!shortIds.has(shortId) && !owned.snapshots.has(shortId)) out.push(`file ${join(pool, 'snapshots', shortId)}`);
  }
  for (const f of list(join(pool, 'scratch'))) {
    if (f !== 'empty-layer-v1.img') out.push(`file ${join(pool, 'scratch', f)}`);
  }
  const archives = join(dataDir, 'archives');
  for (const id of list(archives)) {
    if (!owned.workspaces.has(id)) {
      out.push(`file ${join(archives, id)}`);
      continue;
    }
    for (const f of list(join(archives, id))) if (!owned.archives.get(id)?.has(f)) out.push(`file ${join(archives, id, f)}`);
  }
  return out;
}

/** hostOrphans finds what it should: a netns, a cgroup and a workspace directory no record owns. */
export function selfCheckOrphans(server: Pick<TestServer, 'dataDir' | 'bridge'>): void {
  const inst = instanceIdFor(server.dataDir);
  const made = [`netns warren-${inst}-0badf00d`, `cgroup pids/warren-${inst}/0badf00d`, `file ${join(server.dataDir, 'pool', 'workspaces', 'ws_0badf00d0bad')}`];
  const parent = `/sys/fs/cgroup/pids/warren-${inst}`;
  const parentMade = !existsSync(parent);
  execFileSync('ip', ['netns', 'add', `warren-${inst}-0badf00d`]);
  mkdirSync(`${parent}/0badf00d`, { recursive: true });
  mkdirSync(join(server.dataDir, 'pool', 'workspaces', 'ws_0badf00d0bad'));
  try {
    const found = hostOrphans(server);
    for (const m of made) assert.ok(found.includes(m), `hostOrphans missed ${m}: ${found.join('; ')}`);
  } finally {
    execFileSync('ip', ['netns', 'delete', `warren-${inst}-0badf00d`]);
    rmdirSync(`${parent}/0badf00d`);
    if (parentMade) rmdirSync(parent);
    rmdirSync(join(server.dataDir, 'pool', 'workspaces', 'ws_0badf00d0bad'));
  }
  assert.deepEqual(hostOrphans(server), []);
}
