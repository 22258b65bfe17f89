/**
 * Search routes (runtime.md §4): content search through ripgrep, filename search by
 * walking (no rg needed), and the ripgrep status/"install" endpoints. Install means
 * locating a binary (the runtime bundle's, at /.warren/runtime/bin/rg, in every sandbox);
 * nothing is downloaded. Without rg, content search answers 503 `service_unavailable`
 * with details.reason "ripgrep_not_installed".
 */
import { stat } from 'node:fs/promises';
import { AppError } from '../../contract/errors.js';
import { reply, type RequestContext, type Router } from '../http.js';
import { IgnoreMatcher } from '../files/glob.js';
import { queryBool, queryInt, queryList, queryPath } from '../files/paths.js';
import { walk } from '../files/walk.js';
import { locateRg, runRg, type SearchOptions } from '../search/rg.js';
import { fsError } from './files.js';

export const MAX_QUERY_LENGTH = 1000;
/** Filename search gives up (capped) after this long, so "/" cannot hang a request. */
const FILE_SEARCH_DEADLINE_MS = 10_000;

export function registerSearchRoutes(router: Router): void {
  router.get('/files/search', contentSearchRoute);
  router.get('/files/search/files', fileSearchRoute);
  router.get('/files/search/init', statusRoute);
  router.post('/files/search/init', initRoute);
}

function requireQuery(query: URLSearchParams): string {
  const q = query.get('q');
  if (q === null || q.length === 0) throw new AppError('bad_request', 'q is required', { field: 'q' });
  if (q.length > MAX_QUERY_LENGTH) {
    throw new AppError('bad_request', `q is longer than ${MAX_QUERY_LENGTH} characters`, { field: 'q' });
  }
  return q;
}

/** The search root: absolute, existing (404) and a directory (400), per runtime.md §4.1. */
async function requireSearchRoot(query: URLSearchParams): Promise<string> {
  const root = queryPath(query, 'path', '/');
  const st = await stat(root).catch((err) => {
    throw fsError(err, root);
  });
  if (!st.isDirectory()) throw new AppError('bad_request', `Not a directory: ${root}`, { field: 'path' });
  return root;
}

async function contentSearchRoute(ctx: RequestContext) {
  const q = ctx.query;
  const query = requireQuery(q);
  const root = await requireSearchRoot(q);
  const rg = await locateRg();
  if (!rg) {
    throw new AppError('service_unavailable', 'ripgrep is not installed in this workspace (POST /files/search/init)', { reason: 'ripgrep_not_installed' });
  }
  const opts: SearchOptions = {
    query,
    root,
    regex: queryBool(q, 'regex', false),
    caseSensitive: queryBool(q, 'case_sensitive', false),
    wholeWord: queryBool(q, 'whole_word', false),
    maxResults: queryInt(q, 'max_results', 100, 1, 10_000),
    timeoutMs: queryInt(q, 'timeout', 10, 1, 60) * 1000,
    contextLines: queryInt(q, 'context_lines', 0, 0, 10),
    fileTypes: queryList(q, 'file_types'),
    includeHidden: queryBool(q, 'include_hidden', false),
    noGitignore: queryBool(q, 'no_gitignore', false),
    ignorePatterns: queryList(q, 'ignore_patterns'),
  };
  const out = await runRg(rg.path, opts);
  if (out.timedOut) {
    throw new AppError('gateway_timeout', `Search timed out after ${opts.timeoutMs / 1000}s`, { matches_so_far: out.matches.length });
  }
  if (out.matches.length === 0 && opts.regex && /regex parse error|error parsing/i.test(out.error)) {
    // ripgrep's text quotes its own name and options; the caller gets the verdict.
    throw new AppError('bad_request', 'Invalid regex', { field: 'q', reason: 'invalid_regex' });
  }
  const results: Record<string, Record<string, unknown>[]> = {};
  for (const m of out.matches) {
    const { path, line_number, line: _text, ...rest } = m;
    (results[path] ??= []).push({ line_number, line: line_number, ...rest });
  }
  return reply({
    success: true,
    query,
    path: root,
    results,
    matches: out.matches,
    total_matches: out.matches.length,
    total_files: Object.keys(results).length,
    capped: out.capped,
  });
}

async function fileSearchRoute(ctx: RequestContext) {
  const q = ctx.query;
  const query = requireQuery(q);
  const root = await requireSearchRoot(q);
  const caseSensitive = queryBool(q, 'case_sensitive', false);
  const maxResults = queryInt(q, 'max_results', 200, 1, 10_000);
  const ignore = new IgnoreMatcher(queryList(q, 'ignore_patterns'));
  const needle = caseSensitive ? query : query.toLowerCase();
  const files: string[] = [];
  let capped = false;
  const deadline = Date.now() + FILE_SEARCH_DEADLINE_MS;
  const walkOpts = { recursive: true, maxDepth: 100, skipHidden: !queryBool(q, 'include_hidden', false), ignore };
  try {
    for await (const e of walk(root, walkOpts)) {
      const hay = caseSensitive ? e.rel : e.rel.toLowerCase();
      if (!hay.includes(needle)) {
        if (Date.now() > deadline) {
          capped = true;
          break;
        }
        continue;
      }
      if (files.length >= maxResults) {
        capped = true;
        break;
      }
      files.push(e.rel);
    }
  } catch (err) {
    throw fsError(err, root);
  }
  return reply({ success: true, query, path: root, files, total_files: files.length, capped });
}

async function statusRoute() {
  const rg = await locateRg();
  if (!rg) return reply({ success: true, installed: false, message: 'ripgrep is not installed' });
  return reply({ success: true, installed: true, path: rg.path, version: rg.version });
}

async function initRoute(ctx: RequestContext) {
  ctx.req.resume(); // bodiless POST with a JSON content type: nothing to read
  const rg = await locateRg();
  if (!rg) {
    throw new AppError('service_unavailable', 'ripgrep is not available in this image and cannot be installed offline; add it to the image (apt-get install ripgrep)', { reason: 'ripgrep_not_installed' });
  }
  return reply({ success: true, installed: true, path: rg.path, version: rg.version });
}
