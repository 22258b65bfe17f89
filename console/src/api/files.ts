/**
 * File calls of the runtime API (runtime.md §3, §8) for the Files tab, through the gateway
 * (api/runtime.ts). Listings ignore .gitignore (a file browser shows everything). Writes keep
 * the file's permissions (the runtime writes through temp + rename with mode 0644 unless told).
 */
import { ApiError } from './errors.js';
import { runtimeJson, runtimeSend } from './runtime.js';

export interface FileEntry {
  name: string;
  path: string;
  type: 'file' | 'directory' | 'symlink' | string;
  size?: number;
  modified?: string;
}

export interface FileStat extends FileEntry {
  permissions?: string;
  symlink_target?: string;
}

const q = (path: string) => ({ path });

export async function listDir(ws: string, path: string, signal?: AbortSignal): Promise<FileEntry[]> {
  const body = await runtimeJson<{ entries?: FileEntry[] }>(ws, 'GET', '/files', { query: { path, use_gitignore: false }, signal });
  return body.entries ?? [];
}

export async function statPath(ws: string, path: string, signal?: AbortSignal): Promise<FileStat> {
  return runtimeJson<FileStat>(ws, 'GET', '/files/stat', { query: q(path), signal });
}

export async function readText(ws: string, path: string, signal?: AbortSignal): Promise<{ content: string; size: number }> {
  return runtimeJson(ws, 'GET', '/files/read', { query: q(path), signal });
}

export async function writeText(ws: string, path: string, content: string, mode?: string): Promise<void> {
  await runtimeJson(ws, 'POST', '/files/write', { body: { path, content, ...(mode ? { mode } : {}) } });
}

export async function makeDir(ws: string, path: string): Promise<void> {
  await runtimeJson(ws, 'POST', '/files/mkdir', { body: q(path) });
}

export async function deletePath(ws: string, path: string): Promise<void> {
  await runtimeJson(ws, 'POST', '/files/delete', { body: q(path) });
}

/** The tar.gz of `paths` (POST /files/transfer/download), as a streaming Response. */
export async function downloadArchive(ws: string, paths: string[], signal?: AbortSignal): Promise<Response> {
  return runtimeSend(ws, 'POST', '/files/transfer/download', { body: { paths }, signal });
}

/** Extracts a tar.gz body into `dest`; `stream` bodies need a half-duplex fetch. */
export async function uploadArchive(ws: string, dest: string, body: Blob | ReadableStream<Uint8Array>): Promise<{ files_extracted?: number }> {
  const res = await runtimeSend(ws, 'POST', '/files/transfer/upload', {
    query: { dest },
    raw: { body, type: 'application/gzip', duplex: !(body instanceof Blob) },
  });
  return await res.json() as { files_extracted?: number };
}

/** Whether the runtime refused to read a file as text because it is binary. */
export function isBinaryRefusal(err: unknown): boolean {
  return err instanceof ApiError && err.details.reason === 'binary_file';
}
