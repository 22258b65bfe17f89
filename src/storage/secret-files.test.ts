import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadOrCreateKeyFile } from './secret-files.js';

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'warren-secrets-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('loadOrCreateKeyFile creates a 0600 key once and returns it on every later call', (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'secrets', 'jwt.key');
  const first = loadOrCreateKeyFile(path, 32);
  assert.equal(first.length, 32);
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.deepEqual(loadOrCreateKeyFile(path, 32), first);
  assert.deepEqual(readdirSync(join(dir, 'secrets')), ['jwt.key'], 'no temp files left behind');
  assert.notDeepEqual(loadOrCreateKeyFile(join(dir, 'other.key'), 32), first);
});

test('loadOrCreateKeyFile uses an existing file and refuses a truncated one', (t) => {
  const dir = tempDir(t);
  const supplied = join(dir, 'supplied.key');
  writeFileSync(supplied, Buffer.alloc(48, 7), { mode: 0o600 });
  assert.deepEqual(loadOrCreateKeyFile(supplied, 32), Buffer.alloc(48, 7));
  const short = join(dir, 'short.key');
  writeFileSync(short, '');
  assert.throws(() => loadOrCreateKeyFile(short, 32), /0 bytes/);
  assert.throws(() => loadOrCreateKeyFile(join(dir, 'k'), 0), RangeError);
});

const RACER = `
const { loadOrCreateKeyFile } = await import(process.argv[2]);
process.stdout.write(loadOrCreateKeyFile(process.argv[3], 32).toString('hex'));
`;

test('processes racing to create the key file all get the same key', async (t) => {
  const dir = tempDir(t);
  const script = join(dir, 'racer.mjs');
  writeFileSync(script, RACER);
  const moduleUrl = pathToFileURL(fileURLToPath(new URL('./secret-files.ts', import.meta.url))).href;
  const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
  const path = join(dir, 'race', 'jwt.key');
  const run = () =>
    new Promise<string>((resolve, reject) => {
      execFile(process.execPath, ['--import', 'tsx', script, moduleUrl, path], { cwd: repoRoot, timeout: 20_000 },
        (err, stdout) => (err ? reject(err) : resolve(stdout)));
    });
  const keys = await Promise.all(Array.from({ length: 6 }, run));
  assert.equal(keys[0]!.length, 64);
  for (const k of keys) assert.equal(k, keys[0]);
  assert.equal(readFileSync(path).toString('hex'), keys[0]);
  assert.deepEqual(readdirSync(join(dir, 'race')), ['jwt.key'], 'no temp files left behind');
});
