/**
 * The domain reaches the OS, the network and files only through the ports of
 * src/domain/ports.ts, wired at the composition root (src/server*.ts). This check
 * reads every import of every domain module (tests excepted: they may use real
 * adapters) and refuses the OS modules and the adapter and plane directories.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const DOMAIN = dirname(fileURLToPath(import.meta.url));
const SRC = resolve(DOMAIN, '..');

/** Node modules that touch the OS, files or the network. */
const OS_MODULES = [
  'fs', 'fs/promises', 'child_process', 'net', 'os', 'dgram', 'dns', 'dns/promises', 'http', 'https', 'http2', 'tls',
  'cluster', 'worker_threads', 'v8', 'vm',
];
/** Directories of src/ holding adapters (OS, network, files) or the planes that call the domain. */
const OUTER_DIRS = [
  'control-plane', 'gateway', 'network', 'drivers/ns', 'drivers/memory', 'storage', 'host', 'images', 'agent',
  'ssh', 'web-console', 'metrics', 'cli',
];

/** Every module specifier a file imports or re-exports, statically or dynamically. */
function importsOf(source: string): string[] {
  const found: string[] = [];
  const patterns = [/\bfrom\s*['"]([^'"]+)['"]/g, /\bimport\s*['"]([^'"]+)['"]/g, /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g];
  for (const re of patterns) for (const m of source.matchAll(re)) found.push(m[1]!);
  return found;
}

/** Why `spec` (imported by `file`) is not allowed in the domain; null when it is. */
function refusal(file: string, spec: string): string | null {
  const bare = spec.startsWith('node:') ? spec.slice(5) : spec;
  if (OS_MODULES.includes(bare)) return `imports ${spec}`;
  if (!spec.startsWith('.')) return null;
  const target = relative(SRC, resolve(dirname(file), spec)).split('\\').join('/');
  const outer = OUTER_DIRS.find((d) => target === d || target.startsWith(`${d}/`));
  if (outer) return `imports ${spec} (under src/${outer}/)`;
  if (/^server[-.]/.test(target)) return `imports the composition root (${spec})`;
  return null;
}

function domainModules(): string[] {
  return readdirSync(DOMAIN)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
    .map((f) => join(DOMAIN, f));
}

test('no domain module imports an OS module, an adapter or a plane', () => {
  const modules = domainModules();
  assert.ok(modules.length > 40, `found ${modules.length} domain modules`);
  const faults: string[] = [];
  for (const file of modules) {
    for (const spec of importsOf(readFileSync(file, 'utf8'))) {
      const why = refusal(file, spec);
      if (why) faults.push(`src/domain/${relative(DOMAIN, file)} ${why}`);
    }
  }
  assert.deepEqual(faults, [], 'the domain must reach these through a port in src/domain/ports.ts');
});

test('the check itself sees each kind of forbidden import', () => {
  const file = join(DOMAIN, 'example.ts');
  assert.equal(importsOf(`import { rm } from 'node:fs/promises';\nexport * from "./x.js";\nawait import('node:net');`).length, 3);
  assert.match(refusal(file, 'node:fs/promises')!, /node:fs/);
  assert.match(refusal(file, 'node:child_process')!, /child_process/);
  assert.match(refusal(file, 'fs')!, /fs/);
  assert.match(refusal(file, '../gateway/types.js')!, /src\/gateway/);
  assert.match(refusal(file, '../control-plane/app.js')!, /src\/control-plane/);
  assert.match(refusal(file, '../drivers/ns/driver.js')!, /src\/drivers\/ns/);
  assert.match(refusal(file, '../network/addresses.js')!, /src\/network/);
  assert.match(refusal(file, '../storage/pool.js')!, /src\/storage/);
  assert.match(refusal(file, '../server.js')!, /composition root/);
  assert.equal(refusal(file, '../drivers/driver.js'), null, 'the Driver interface is a port');
  assert.equal(refusal(file, '../contract/errors.js'), null);
  assert.equal(refusal(file, './ports.js'), null);
  assert.equal(refusal(file, 'node:crypto'), null);
});
