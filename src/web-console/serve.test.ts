import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { acceptedEncodings, isConsolePath } from './serve.js';
import { loadAssets } from './assets.js';

test('Accept-Encoding: listed codings, q=0 refused', () => {
  assert.deepEqual([...acceptedEncodings('gzip, deflate, br')], ['gzip', 'deflate', 'br']);
  assert.deepEqual([...acceptedEncodings('br;q=0, gzip;q=0.5')], ['gzip']);
  assert.deepEqual([...acceptedEncodings('')], []);
});

test('console paths', () => {
  assert.ok(isConsolePath('/console'));
  assert.ok(isConsolePath('/console/w/ws_1'));
  assert.ok(!isConsolePath('/consoles'));
  assert.ok(!isConsolePath('/workspace'));
});

test('assets: hashed files immutable, compressed forms paired, nothing without index.html', () => {
  const dir = mkdtempSync(join(tmpdir(), 'console-assets-'));
  try {
    assert.equal(loadAssets(dir).size, 0);
    mkdirSync(join(dir, 'assets'));
    writeFileSync(join(dir, 'index.html'), '<html></html>');
    writeFileSync(join(dir, 'assets', 'a-1.js'), 'x');
    writeFileSync(join(dir, 'assets', 'a-1.js.gz'), gzipSync('x'));
    const assets = loadAssets(dir);
    assert.deepEqual([...assets.keys()].sort(), ['assets/a-1.js', 'index.html']);
    assert.equal(assets.get('assets/a-1.js')!.immutable, true);
    assert.ok(assets.get('assets/a-1.js')!.gzip);
    assert.equal(assets.get('assets/a-1.js')!.brotli, null);
    assert.equal(assets.get('index.html')!.immutable, false);
    assert.match(assets.get('index.html')!.type, /text\/html/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
