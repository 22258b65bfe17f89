/**
 * `warren backup` / `warren restore` (issue 16, item 5) against a real server: a backup
 * taken while it runs holds the database and the control-plane secrets; restored into a
 * fresh data dir and served again, the namespace API key and the access token still work,
 * the workspace record and its metadata are there (the database copied while metadata writes
 * went on passes SQLite's integrity check), and the workspace (whose disk a backup
 * does not hold) is `failed`, not booted on an empty disk and not gone. Then the refusals:
 * a running server, a missing or corrupted file, a checksum mismatch, a newer schema,
 * unsafe entries, and a non-empty data dir without --force (with it, the old state is
 * moved aside).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { gunzipSync, gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import Database from 'better-sqlite3';
import { api, CLI, startServer, type TestServer } from '../support/warren.js';
import { ensureTestImages } from '../support/images.js';
import { adminClient, waitForStatus } from '../support/workspaces.js';

let server: TestServer | null = null;
let restored: TestServer | null = null;
const scratch = mkdtempSync(join(tmpdir(), 'warren-backup-test-'));
const backupFile = join(scratch, 'warren-backup.tar.gz');
const made = { ws: '', keyId: '', keySecret: '', token: '' };
const METADATA = { team: 'core', env: 'prod' };

interface Run { code: number; stdout: string; stderr: string }

function warren(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { timeout: 120_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** A refusal: exit 1 and exactly one line on stderr starting with `phrase`. */
function assertRefused(r: Run, phrase: RegExp): void {
  assert.equal(r.code, 1, `expected exit 1, got ${r.code}: ${r.stdout}${r.stderr}`);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, phrase);
}

interface Entry { name: string; data: Buffer; type?: 'file' | 'symlink'; linkname?: string }

async function unpack(file: string): Promise<Entry[]> {
  const out: Entry[] = [];
  const extract = tar.extract();
  const feeding = pipeline(Readable.from([gunzipSync(readFileSync(file))]), extract as unknown as Writable);
  for await (const entry of extract) {
    const parts: Buffer[] = [];
    for await (const c of entry as AsyncIterable<Buffer>) parts.push(c);
    out.push({ name: entry.header.name, data: Buffer.concat(parts) });
  }
  await feeding;
  return out;
}

async function repack(file: string, entries: Entry[]): Promise<void> {
  const pack = tar.pack();
  for (const e of entries) {
    if (e.type === 'symlink') pack.entry({ name: e.name, type: 'symlink', linkname: e.linkname! });
    else pack.entry({ name: e.name, size: e.data.length, mode: 0o600 }, e.data);
  }
  pack.finalize();
  const parts: Buffer[] = [];
  for await (const c of pack as AsyncIterable<Buffer>) parts.push(c);
  writeFileSync(file, gzipSync(Buffer.concat(parts)));
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** The backup with its manifest changed by `edit` (and more entries), written to a new file. */
async function variant(name: string, edit: (manifest: any, entries: Entry[]) => void): Promise<string> {
  const entries = await unpack(backupFile);
  const manifest = JSON.parse(entries[0]!.data.toString('utf8'));
  edit(manifest, entries);
  entries[0] = { name: 'manifest.json', data: Buffer.from(JSON.stringify(manifest)) };
  const file = join(scratch, name);
  await repack(file, entries);
  return file;
}

function emptyDir(): string {
  return mkdtempSync(join(scratch, 'target-'));
}

before(async () => {
  await ensureTestImages(['debian-12']);
  server = await startServer();
  const admin = adminClient(server);
  await admin.namespaces.create({ name: 'team-a' } as any);
  made.ws = (await admin.workspaces.create({ image: 'debian-12', memory_mb: 128, namespace: 'team-a' } as any)).id;
  await waitForStatus(server, made.ws, 'running');
  await admin.workspaces.metadata.update(made.ws, { metadata: METADATA });
  const key = await api(server, 'POST', '/api-keys', { scope: 'namespace', namespace: 'team-a', label: 'backup' });
  assert.equal(key.status, 201, key.text);
  made.keyId = key.body.client_id;
  made.keySecret = key.body.client_secret;
  const tok = await api(server, 'POST', '/tokens', { scope: 'workspace', workspaceId: made.ws, ttl: 3600 });
  assert.equal(tok.status, 201, tok.text);
  made.token = tok.body.token;
});

after(async () => {
  await restored?.stop();
  await server?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

test('a backup taken while the server runs restores into a fresh data dir that serves the same keys and records', async () => {
  // Metadata writes go on while the backup copies the database: the copy is one committed state.
  let writing = true;
  let writes = 0;
  const load = (async () => {
    while (writing) {
      const w = await api(server!, 'PATCH', `/workspace/${made.ws}/metadata`, { metadata: { n: String(writes + 1) } });
      assert.equal(w.status, 200, w.text);
      writes++;
      await new Promise((r) => setTimeout(r, 10)); // well under the per-key rate limit
    }
  })();
  const b = await warren('backup', '--data-dir', server!.dataDir, '--out', backupFile);
  writing = false;
  await load;
  assert.equal(b.code, 0, b.stderr);
  assert.ok(writes > 0, 'writes ran during the backup');
  assert.equal(statSync(backupFile).mode & 0o777, 0o600);
  assert.deepEqual(readdirSync(scratch).filter((n) => n.startsWith('.')), [], 'no temp file is left beside the backup');
  const entries = await unpack(backupFile);
  assert.equal(entries[0]!.name, 'manifest.json');
  const manifest = JSON.parse(entries[0]!.data.toString('utf8'));
  assert.equal(manifest.format_version, 1);
  assert.ok(manifest.schema_version >= 9 && typeof manifest.warren_version === 'string' && manifest.created_at);
  const names = manifest.files.map((f: any) => f.path).sort();
  for (const want of ['warren.db', 'secrets/gateway-signing.key', 'secrets/access-keys.json']) assert.ok(names.includes(want), names.join());
  assert.ok(names.every((n: string) => !n.startsWith('workspaces/') && !n.startsWith('images/')), names.join());
  for (const f of manifest.files) assert.equal(sha256(entries.find((e) => e.name === f.path)!.data), f.sha256, f.path);

  // The running server's data dir is refused, before anything is read or written.
  assertRefused(await warren('restore', '--data-dir', server!.dataDir, '--from', backupFile), /^warren: a Warren server is running on /);

  await server!.stop(); // its sandbox, bridge and data dir go: as a host that is lost
  server = null;
  const target = emptyDir();
  const r = await warren('restore', '--data-dir', target, '--from', backupFile);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(statSync(join(target, 'warren.db')).mode & 0o777, 0o600);
  assert.equal(statSync(join(target, 'secrets/gateway-signing.key')).mode & 0o777, 0o600);
  assert.deepEqual(readdirSync(target).filter((n) => n.startsWith('.')), [], 'no staging directory is left');
  const db = new Database(join(target, 'warren.db'), { readonly: true });
  assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
  db.close();

  restored = await startServer({ dataDir: target });
  const asKey = { 'x-client-id': made.keyId, 'x-client-secret': made.keySecret };
  const listed = await api(restored, 'GET', '/workspace', undefined, asKey);
  assert.equal(listed.status, 200, listed.text);
  assert.deepEqual(listed.body.workspaces.map((w: any) => w.id), [made.ws]);
  const viaToken = await fetch(`${restored.url}/workspace/${made.ws}`, { headers: { authorization: `Bearer ${made.token}` } });
  assert.equal(viaToken.status, 200, await viaToken.text());
  const ws = (await api(restored, 'GET', `/workspace/${made.ws}`)).body.workspace;
  const { n, ...rest } = ws.metadata;
  assert.deepEqual(rest, METADATA);
  assert.ok(Number(n) >= 0 && Number(n) <= writes, `metadata of one committed write: n=${n} of ${writes}`);
  // Its disk was not in the backup: failed with a stable code, not booted on an empty disk, not gone.
  assert.equal(ws.status, 'failed');
  assert.equal(ws.provisioning?.error?.code, 'workspace_disk_missing', JSON.stringify(ws.provisioning));
  assert.ok(restored.logs.some((l) => l.includes('workspace disk not on this host') && l.includes(made.ws)), 'the reconciler says why');
});

test('restore refuses a missing, corrupted, tampered, newer or unsafe backup and leaves the data dir untouched', async () => {
  const target = emptyDir();
  const untouched = () => assert.deepEqual(readdirSync(target), []);
  assertRefused(await warren('restore', '--data-dir', target, '--from', join(scratch, 'nope.tar.gz')), /^warren: backup not found: /);

  const truncated = join(scratch, 'truncated.tar.gz');
  const whole = readFileSync(backupFile);
  writeFileSync(truncated, whole.subarray(0, Math.floor(whole.length / 2)));
  assertRefused(await warren('restore', '--data-dir', target, '--from', truncated), /^warren: corrupt backup: /);
  const garbage = join(scratch, 'garbage.tar.gz');
  writeFileSync(garbage, 'not a backup at all\n');
  assertRefused(await warren('restore', '--data-dir', target, '--from', garbage), /^warren: corrupt backup: /);
  untouched();

  const tampered = await variant('tampered.tar.gz', (_m, entries) => {
    const db = entries.find((e) => e.name === 'warren.db')!;
    db.data = Buffer.from(db.data);
    db.data[db.data.length - 1] ^= 0xff;
  });
  assertRefused(await warren('restore', '--data-dir', target, '--from', tampered), /^warren: checksum mismatch in backup: warren\.db /);

  const newer = await variant('newer.tar.gz', (m) => { m.schema_version = 9999; });
  assertRefused(await warren('restore', '--data-dir', target, '--from', newer), /^warren: backup has a newer schema: version 9999/);

  const evil = Buffer.from('escaped\n');
  const traversal = await variant('traversal.tar.gz', (m, entries) => {
    m.files.push({ path: '../evil', size: evil.length, mode: 0o600, sha256: sha256(evil) });
    entries.push({ name: '../evil', data: evil });
  });
  assertRefused(await warren('restore', '--data-dir', target, '--from', traversal), /^warren: unsafe backup entry: /);
  const unlisted = await variant('unlisted.tar.gz', (_m, entries) => { entries.push({ name: '../evil', data: evil }); });
  assertRefused(await warren('restore', '--data-dir', target, '--from', unlisted), /^warren: unsafe backup entry: /);
  const absolute = await variant('absolute.tar.gz', (m, entries) => {
    m.files.push({ path: '/tmp/evil', size: evil.length, mode: 0o600, sha256: sha256(evil) });
    entries.push({ name: '/tmp/evil', data: evil });
  });
  assertRefused(await warren('restore', '--data-dir', target, '--from', absolute), /^warren: unsafe backup entry: /);
  const link = await variant('link.tar.gz', (_m, entries) => {
    entries.splice(1, 0, { name: 'prices.json', data: Buffer.alloc(0), type: 'symlink', linkname: '/etc/passwd' });
  });
  assertRefused(await warren('restore', '--data-dir', target, '--from', link), /^warren: unsafe backup entry: "prices\.json" is a symlink/);
  assert.equal(existsSync(join(dirname(target), 'evil')), false);
  untouched();
});

test('restore into a data dir that holds a database needs --force, which moves the old state aside', async () => {
  const target = emptyDir();
  writeFileSync(join(target, 'warren.db'), 'old database\n', { mode: 0o600 });
  writeFileSync(join(target, 'admin-credentials.json'), '{"old":true}\n', { mode: 0o600 });
  assertRefused(await warren('restore', '--data-dir', target, '--from', backupFile), /^warren: data dir not empty: /);
  assert.equal(readFileSync(join(target, 'warren.db'), 'utf8'), 'old database\n');

  const r = await warren('restore', '--data-dir', target, '--from', backupFile, '--force');
  assert.equal(r.code, 0, r.stderr);
  const aside = readdirSync(target).filter((n) => n.startsWith('restore-'));
  assert.equal(aside.length, 1, readdirSync(target).join());
  assert.equal(readFileSync(join(target, aside[0]!, 'warren.db'), 'utf8'), 'old database\n');
  assert.equal(readFileSync(join(target, aside[0]!, 'admin-credentials.json'), 'utf8'), '{"old":true}\n');
  const db = readFileSync(join(target, 'warren.db'));
  assert.equal(db.subarray(0, 15).toString(), 'SQLite format 3');
  assert.equal(existsSync(join(target, 'admin-credentials.json')), false, 'not in this backup, so not left from the old state');
});
