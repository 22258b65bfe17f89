// @vitest-environment node
// (Node's own Blob, streams and CompressionStream: the browser has the same ones.)
import { describe, expect, it } from 'vitest';

/** These run GNU tar and stream real bytes: generous under a loaded machine. */
const SLOW = { timeout: 30_000 };
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { firstFile, parsePax, TarParser, type TarEntry } from './tar-read.js';
import { entryHeader, paxRecord, tarStream } from './tar-write.js';

async function collect(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

function streamOf(bytes: Uint8Array, chunk = 1000): ReadableStream<Uint8Array> {
  let off = 0;
  return new ReadableStream({
    pull(ctl) {
      if (off >= bytes.length) return ctl.close();
      ctl.enqueue(bytes.slice(off, off + chunk));
      off += chunk;
    },
  });
}

/** Every entry and its content, parsing `bytes` in chunks of `chunk` bytes. */
function parseAll(bytes: Uint8Array, chunk: number): { entry: TarEntry; data: Uint8Array }[] {
  const p = new TarParser();
  const out: { entry: TarEntry; parts: Uint8Array[] }[] = [];
  for (let off = 0; off < bytes.length; off += chunk) {
    for (const ev of p.push(bytes.subarray(off, off + chunk))) {
      if (ev.kind === 'entry') out.push({ entry: ev.entry, parts: [] });
      else if (ev.kind === 'data') out[out.length - 1]!.parts.push(ev.bytes.slice());
    }
  }
  expect(p.done).toBe(true);
  return out.map((e) => ({ entry: e.entry, data: new Uint8Array(Buffer.concat(e.parts)) }));
}

const binary = new Uint8Array(70_000).map((_, i) => (i * 31 + (i >> 8)) & 0xff);
const longName = `deep/${'d'.repeat(90)}/${'n'.repeat(60)}-é.bin`;

describe('tar writer', SLOW, () => {
  it('writes what GNU tar reads: names, sizes, long names, binary content', async () => {
    const bytes = await collect(tarStream([
      { name: 'hello.txt', data: new Blob(['hello\n']), mtime: 1_700_000_000_000 },
      { name: 'bin/data.bin', data: new Blob([binary]) },
      { name: longName, data: new Blob([]) },
    ]));
    expect(bytes.length % 512).toBe(0);
    const dir = mkdtempSync(join(tmpdir(), 'console-tar-'));
    try {
      writeFileSync(join(dir, 'a.tar'), bytes);
      const listing = execFileSync('tar', ['-tf', join(dir, 'a.tar')], { encoding: 'utf8' }).trim().split('\n');
      expect(listing).toEqual(['hello.txt', 'bin/data.bin', longName]);
      mkdirSync(join(dir, 'out'));
      execFileSync('tar', ['-xf', join(dir, 'a.tar'), '-C', join(dir, 'out')]);
      expect(readFileSync(join(dir, 'out', 'hello.txt'), 'utf8')).toBe('hello\n');
      expect(new Uint8Array(readFileSync(join(dir, 'out', 'bin', 'data.bin')))).toEqual(binary);
      const verbose = execFileSync('tar', ['--utc', '-tvf', join(dir, 'a.tar'), 'hello.txt'], { encoding: 'utf8' });
      expect(verbose).toMatch(/^-rw-r--r-- .* 6 2023-11-14 22:13 hello\.txt/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('gzips through CompressionStream into a valid .tar.gz', async () => {
    const gz = await collect(tarStream([{ name: 'x.txt', data: new Blob(['x']) }]).pipeThrough(new CompressionStream('gzip')));
    const tar = new Uint8Array(gunzipSync(gz));
    const [only] = parseAll(tar, 512);
    expect(only!.entry.name).toBe('x.txt');
    expect(new TextDecoder().decode(only!.data)).toBe('x');
  });

  it('pax records count their own length', () => {
    for (const v of ['a', 'x'.repeat(87), 'x'.repeat(88), 'x'.repeat(989), 'é'.repeat(300)]) {
      const rec = paxRecord('path', v);
      expect(Number(rec.split(' ')[0])).toBe(new TextEncoder().encode(rec).length);
      expect(parsePax(new TextEncoder().encode(rec))).toEqual({ path: v });
    }
  });

  it('uses a pax header only when the name needs it', () => {
    expect(entryHeader({ name: 'short', size: 1, mtime: 0 })).toHaveLength(1);
    expect(entryHeader({ name: longName, size: 1, mtime: 0 })).toHaveLength(4);
  });
});

describe('tar reader', SLOW, () => {
  it('reads back what the writer wrote, in any chunking', async () => {
    const bytes = await collect(tarStream([
      { name: 'a.txt', data: new Blob(['A'.repeat(513)]) },
      { name: longName, data: new Blob([binary]) },
    ]));
    for (const chunk of [3, 512, 4096, bytes.length]) {
      const all = parseAll(bytes, chunk);
      expect(all.map((e) => e.entry.name)).toEqual(['a.txt', longName]);
      expect(all[0]!.data.length).toBe(513);
      expect(all[1]!.data).toEqual(binary);
    }
  });

  it('reads GNU tar archives: directories, symlinks, GNU long names', () => {
    const dir = mkdtempSync(join(tmpdir(), 'console-tar-'));
    try {
      const src = join(dir, 'src');
      const long = `${'l'.repeat(120)}.txt`;
      mkdirSync(join(src, 'sub'), { recursive: true });
      writeFileSync(join(src, 'sub', long), 'long name\n');
      writeFileSync(join(src, 'file.bin'), binary);
      execFileSync('ln', ['-s', 'file.bin', join(src, 'link')]);
      const tar = new Uint8Array(execFileSync('tar', ['--format=gnu', '-cf', '-', '-C', dir, 'src']));
      const all = parseAll(tar, 333);
      const byName = new Map(all.map((e) => [e.entry.name, e]));
      expect(byName.get('src/')?.entry.type).toBe('5');
      expect(byName.get(`src/sub/${long}`)?.data).toEqual(new TextEncoder().encode('long name\n'));
      expect(byName.get('src/file.bin')?.data).toEqual(binary);
      expect(byName.get('src/link')?.entry).toMatchObject({ type: '2', linkName: 'file.bin' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('firstFile returns the first regular file of a (downloaded) archive', async () => {
    const bytes = await collect(tarStream([
      { name: 'root/notes.bin', data: new Blob([binary]) },
      { name: 'root/other.txt', data: new Blob(['other']) },
    ]));
    const got = await firstFile(streamOf(bytes, 4000));
    expect(got?.entry.name).toBe('root/notes.bin');
    expect(new Uint8Array(await got!.blob.arrayBuffer())).toEqual(binary);
    expect(await firstFile(streamOf(new Uint8Array(1024)))).toBeNull();
  });

  it('firstFile refuses an archive cut inside the file', async () => {
    const bytes = await collect(tarStream([{ name: 'f', data: new Blob([binary]) }]));
    await expect(firstFile(streamOf(bytes.subarray(0, 10_000)))).rejects.toThrow(/ended inside/);
  });
});
