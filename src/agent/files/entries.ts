/**
 * Turns walk entries into the wire `FileEntry` of runtime.md §3.1 according to the list
 * options (light, include_hash, include_content, include_extensions, filters).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { AppError } from '../../contract/errors.js';
import { isCodeFile } from '../routes/files.js';
import { IgnoreMatcher, loadGitignore } from './glob.js';
import { queryBool, queryInt, queryList, queryPath } from './paths.js';
import type { WalkEntry, WalkOptions } from './walk.js';

/** Hard cap on entries in one listing (runtime.md §12). */
export const MAX_LIST_ENTRIES = 50_000;
/** A single file larger than this is never inlined by include_content. */
const MAX_INLINE_FILE = 1024 * 1024;

export interface ListOptions {
  root: string;
  nested: boolean;
  flatten: boolean;
  light: boolean;
  includeHash: boolean;
  includeContent: boolean;
  includeExtensions: boolean;
  codeFilesOnly: boolean;
  pathFilter: string;
  includeExt: Set<string>;
  walk: WalkOptions;
  contentBudget: number;
}

export interface FileEntry {
  name: string;
  path: string;
  type: string;
  size?: number;
  modified?: string;
  extension?: string;
  hash?: string;
  content?: string;
  children?: FileEntry[];
}

/** Parses the §3.1 query; `nestedDefault` is true for /files/stream. */
export async function parseListOptions(query: URLSearchParams, nestedDefault: boolean): Promise<ListOptions> {
  const root = queryPath(query, 'path', '/');
  const nested = queryBool(query, 'nested', nestedDefault);
  const ignore = queryBool(query, 'use_gitignore', true) ? await loadGitignore(root) : new IgnoreMatcher();
  for (const p of queryList(query, 'ignore_patterns')) ignore.add(p);
  return {
    root,
    nested,
    flatten: queryBool(query, 'flatten', false),
    light: queryBool(query, 'light', false),
    includeHash: queryBool(query, 'include_hash', false),
    includeContent: queryBool(query, 'include_content', false),
    includeExtensions: queryBool(query, 'include_extensions', false),
    codeFilesOnly: queryBool(query, 'code_files_only', false),
    pathFilter: (query.get('path_filter') ?? '').toLowerCase(),
    includeExt: new Set(queryList(query, 'include_ext').map((e) => e.replace(/^\./, '').toLowerCase())),
    walk: { recursive: nested, maxDepth: queryInt(query, 'max_depth', 20, 1, 100), ignore: ignore.empty ? undefined : ignore },
    contentBudget: queryInt(query, 'max_content_budget', 50 * 1024 * 1024, 0, 512 * 1024 * 1024),
  };
}

/** 400 unless the root is a directory (404 when missing). */
export async function requireDirectory(path: string): Promise<void> {
  let st;
  try {
    st = await stat(path);
  } catch {
    throw new AppError('not_found', `Directory not found: ${path}`, { field: 'path' });
  }
  if (!st.isDirectory()) throw new AppError('bad_request', `Not a directory: ${path}`, { field: 'path' });
}

/** Whether a walk entry passes the file filters. Directories pass unless `flatOnlyFiles`. */
export function passesFilters(e: WalkEntry, o: ListOptions, keepDirs: boolean): boolean {
  if (e.type === 'directory' && keepDirs) return true;
  if (o.pathFilter && !e.rel.toLowerCase().includes(o.pathFilter)) return false;
  const fileFilter = o.codeFilesOnly || o.includeExt.size > 0;
  if (!fileFilter) return true;
  if (e.type !== 'file') return false;
  if (o.codeFilesOnly && !isCodeFile(e.name)) return false;
  if (o.includeExt.size > 0 && !o.includeExt.has(extname(e.name).slice(1).toLowerCase())) return false;
  return true;
}

/** Builds the wire entry; `budget.left` shrinks as content is inlined. */
export async function toFileEntry(e: WalkEntry, o: ListOptions, budget: { left: number }): Promise<FileEntry> {
  const out: FileEntry = { name: e.name, path: e.path, type: e.type };
  const needStat = !o.light || o.includeContent;
  const st = needStat ? await stat(e.path).catch(() => null) : null;
  if (st && !o.light) {
    out.size = st.size;
    out.modified = st.mtime.toISOString();
  }
  const ext = extname(e.name);
  if (e.type !== 'directory' && ext && (o.includeExtensions || !o.light)) out.extension = ext;
  if (e.type !== 'file') return out;
  if (o.includeHash) out.hash = await sha256File(e.path).catch(() => undefined);
  if (o.includeContent && st && st.size <= MAX_INLINE_FILE && st.size <= budget.left) {
    const buf = await readFile(e.path).catch(() => null);
    if (buf && !isBinary(buf)) {
      budget.left -= buf.length;
      out.content = buf.toString('utf8');
    }
  }
  return out;
}

export function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path).on('error', reject).on('data', (c) => hash.update(c)).on('end', () => resolve(hash.digest('hex')));
  });
}

/** Heuristic used by read and include_content: a NUL byte in the first 8 KiB. */
export function isBinary(buf: Buffer): boolean {
  return buf.subarray(0, 8192).includes(0);
}
