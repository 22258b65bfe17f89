/**
 * Downloads and uploads through the runtime's tar.gz transfer API (runtime.md §8).
 *
 * Download of a file: the archive is streamed through DecompressionStream('gzip') and the tar
 * reader, and only the file's bytes are saved (under its own name). A folder is saved as the
 * .tar.gz the runtime sends. A symlink is followed to the file it names first.
 *
 * Upload: the chosen or dropped files (folders too, when the browser hands them over as
 * entries) become a tar stream read from `File.stream()`, gzipped by CompressionStream('gzip'),
 * and posted to `/files/transfer/upload?dest=`. Over HTTPS the request body is the stream itself
 * (browsers stream request bodies over HTTP/2 only); over plain HTTP, or when the streamed
 * request is refused, the gzip output is collected into a Blob first (the browser keeps large
 * Blobs on disk) — binary-safe either way, and the files are never read into JavaScript strings.
 */
import { ApiError } from '../api/errors.js';
import { downloadArchive, statPath, uploadArchive } from '../api/files.js';
import { baseName, resolveLink } from './paths.js';
import { firstFile } from './tar-read.js';
import { tarStream, type TarInput } from './tar-write.js';

/** Offers `blob` to the user as a download named `name`. */
export function saveBlob(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** Follows symlinks (at most 8) to the path they finally name. */
export async function realPath(ws: string, path: string): Promise<string> {
  let p = path;
  for (let i = 0; i < 8; i++) {
    const st = await statPath(ws, p);
    if (st.type !== 'symlink' || !st.symlink_target) return p;
    p = resolveLink(p, st.symlink_target);
  }
  return p;
}

export async function downloadFile(ws: string, path: string): Promise<void> {
  const real = await realPath(ws, path);
  const res = await downloadArchive(ws, [real]);
  if (!res.body) throw new Error('The workspace sent an empty download');
  const file = await firstFile(res.body.pipeThrough(new DecompressionStream('gzip')));
  if (!file) throw new Error(`${path} is not a regular file; nothing to save`);
  saveBlob(file.blob, baseName(path));
}

export async function downloadFolder(ws: string, path: string): Promise<void> {
  const res = await downloadArchive(ws, [path]);
  const name = path === '/' ? 'workspace' : baseName(path);
  saveBlob(await res.blob(), `${name}.tar.gz`);
}

export interface UploadItem {
  /** Relative path inside the destination ("notes.txt", "dir/sub/a.png"). */
  name: string;
  file: File;
}

/** Uploads `items` into `dest`; returns how many files the runtime extracted. */
export async function uploadFiles(ws: string, dest: string, items: UploadItem[]): Promise<number> {
  const inputs: TarInput[] = items.map((i) => ({ name: i.name, data: i.file, mtime: i.file.lastModified }));
  const gzip = () => tarStream(inputs).pipeThrough(new CompressionStream('gzip'));
  if (location.protocol === 'https:') {
    try {
      return (await uploadArchive(ws, dest, gzip())).files_extracted ?? items.length;
    } catch (err) {
      // A refused streamed request (HTTP/1.1) never reached the server, and a stream cannot be
      // sent again after a 401: send a Blob instead (with a renewed token when needed).
      if (!(err instanceof ApiError && (err.status === 0 || err.status === 401))) throw err;
    }
  }
  const blob = await new Response(gzip()).blob();
  return (await uploadArchive(ws, dest, blob)).files_extracted ?? items.length;
}

/** The files of a drop: folders are walked when the browser gives entries, else the flat file list. */
export async function droppedItems(dt: DataTransfer): Promise<UploadItem[]> {
  const entries = [...dt.items]
    .filter((i) => i.kind === 'file')
    .map((i) => (typeof i.webkitGetAsEntry === 'function' ? i.webkitGetAsEntry() : null));
  if (entries.length === 0 || entries.some((e) => e === null)) {
    return [...dt.files].map((file) => ({ name: file.name, file }));
  }
  const out: UploadItem[] = [];
  for (const e of entries) await walkEntry(e!, '', out);
  return out;
}

async function walkEntry(entry: FileSystemEntry, prefix: string, out: UploadItem[]): Promise<void> {
  const name = prefix + entry.name;
  if (entry.isFile) {
    const file = await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject));
    out.push({ name, file });
    return;
  }
  if (!entry.isDirectory) return;
  const reader = (entry as FileSystemDirectoryEntry).createReader();
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
    if (batch.length === 0) break;
    for (const child of batch) await walkEntry(child, `${name}/`, out);
  }
}
