/**
 * A small tar writer for the runtime's upload (runtime.md §8.2: a gzip-compressed tar; the
 * browser's CompressionStream does the gzip part). `tarStream(inputs)` streams POSIX ustar
 * entries for Blobs (a File is one) without holding them in memory; names longer than 100
 * bytes and sizes of 8 GiB or more get a pax header (`path`, `size`), which GNU tar reads.
 * Regular files only, mode 0644 unless given. The reader is tar-read.ts.
 */

export const BLOCK = 512;
const encoder = new TextEncoder();
const MAX_OCTAL_SIZE = 0o77777777777;
/** Bytes in an ordinary ArrayBuffer (what streams and Blobs take). */
type Bytes = Uint8Array<ArrayBuffer>;

export interface TarInput {
  /** Path inside the archive, relative ("dir/name.txt"). */
  name: string;
  data: Blob;
  /** Modification time in ms (a File's lastModified). */
  mtime?: number;
  mode?: number;
}

function writeString(block: Uint8Array, offset: number, size: number, value: string): void {
  block.set(encoder.encode(value).subarray(0, size), offset);
}

function writeOctal(block: Uint8Array, offset: number, size: number, value: number): void {
  writeString(block, offset, size, `${Math.floor(value).toString(8).padStart(size - 1, '0')}\0`);
}

/** One 512-byte header block. */
export function headerBlock(name: string, size: number, mtimeMs: number, type: string, mode = 0o644): Bytes {
  const h = new Uint8Array(BLOCK);
  writeString(h, 0, 100, name);
  writeOctal(h, 100, 8, mode);
  writeOctal(h, 108, 8, 0);
  writeOctal(h, 116, 8, 0);
  writeOctal(h, 124, 12, Math.min(size, MAX_OCTAL_SIZE));
  writeOctal(h, 136, 12, Math.max(0, mtimeMs / 1000));
  h.fill(0x20, 148, 156);
  writeString(h, 156, 1, type);
  writeString(h, 257, 6, 'ustar\0');
  writeString(h, 263, 2, '00');
  let sum = 0;
  for (const b of h) sum += b;
  writeString(h, 148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  return h;
}

/** A pax record "<len> key=value\n" where <len> counts the whole record. */
export function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  const bodyLen = encoder.encode(body).length;
  let digits = 1;
  while (String(bodyLen + digits).length !== digits) digits++;
  return `${bodyLen + digits}${body}`;
}

export function padding(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

/** The header blocks of one entry (a pax header first when name or size need it). */
export function entryHeader(input: { name: string; size: number; mtime: number; mode?: number }): Bytes[] {
  const records: string[] = [];
  if (encoder.encode(input.name).length > 100) records.push(paxRecord('path', input.name));
  if (input.size > MAX_OCTAL_SIZE) records.push(paxRecord('size', String(input.size)));
  const out: Bytes[] = [];
  if (records.length) {
    const pax = encoder.encode(records.join(''));
    out.push(headerBlock(`PaxHeader/${input.name.slice(-80)}`, pax.length, input.mtime, 'x'), pax, new Uint8Array(padding(pax.length)));
  }
  out.push(headerBlock(input.name, input.size, input.mtime, '0', input.mode));
  return out;
}

async function* tarChunks(inputs: TarInput[]): AsyncGenerator<Bytes> {
  for (const f of inputs) {
    const size = f.data.size;
    yield* entryHeader({ name: f.name, size, mtime: f.mtime ?? Date.now(), mode: f.mode });
    const reader = f.data.stream().getReader();
    let seen = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      seen += value.length;
      yield value;
    }
    if (seen !== size) throw new Error(`${f.name} changed while it was being read`);
    if (padding(size)) yield new Uint8Array(padding(size));
  }
  yield new Uint8Array(BLOCK * 2);
}

/** A tar archive of `inputs`, produced as it is read. */
export function tarStream(inputs: TarInput[]): ReadableStream<Bytes> {
  const it = tarChunks(inputs);
  return new ReadableStream<Bytes>({
    async pull(ctl) {
      const { done, value } = await it.next();
      if (done) ctl.close();
      else if (value.length) ctl.enqueue(value);
    },
    async cancel() {
      await it.return(undefined);
    },
  });
}
