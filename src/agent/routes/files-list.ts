/**
 * Directory listing routes (runtime.md §3.1–3.2): GET /files, GET /files/list (alias)
 * and GET /files/stream (NDJSON written while walking). Capped at 50 000 entries.
 */
import { dirname } from 'node:path';
import { AppError } from '../../contract/errors.js';
import { publicMessage } from '../../contract/envelope.js';
import { reply, type RequestContext, type Router } from '../http.js';
import {
  MAX_LIST_ENTRIES, parseListOptions, passesFilters, requireDirectory, toFileEntry, type FileEntry,
} from '../files/entries.js';
import { walk } from '../files/walk.js';
import { fsError } from './files.js';
import { firstEvent } from '../../util/events.js';

export function registerFileListRoutes(router: Router): void {
  router.get('/files', listRoute);
  router.get('/files/list', listRoute);
  router.get('/files/stream', streamRoute);
}

async function listRoute(ctx: RequestContext) {
  const o = await parseListOptions(ctx.query, false);
  await requireDirectory(o.root);
  const tree = o.nested && !o.flatten;
  const budget = { left: o.contentBudget };
  const top: FileEntry[] = [];
  const dirs = new Map<string, FileEntry>();
  let count = 0;
  let truncated = false;
  try {
    for await (const e of walk(o.root, o.walk)) {
      if (!passesFilters(e, o, tree)) continue;
      if (count >= MAX_LIST_ENTRIES) {
        truncated = true;
        break;
      }
      const entry = await toFileEntry(e, o, budget);
      count++;
      if (tree) {
        if (e.type === 'directory') {
          entry.children = [];
          dirs.set(e.path, entry);
        }
        const parent = dirs.get(dirname(e.path));
        (parent?.children ?? top).push(entry);
      } else top.push(entry);
    }
  } catch (err) {
    throw fsError(err, o.root);
  }
  const body: Record<string, unknown> = { success: true, path: o.root, count, entries: top };
  if (truncated) body.truncated = true;
  return reply(body);
}

/**
 * NDJSON: `{"event":"start"}`, one entry per line, `{"event":"done","count":n}`. Errors
 * after the headers are sent become `{"event":"error",…}` lines (the SDK skips event
 * lines, and a half-written JSON line would make it throw). Honors backpressure.
 */
async function streamRoute(ctx: RequestContext) {
  const o = await parseListOptions(ctx.query, true);
  o.flatten = true;
  await requireDirectory(o.root);
  const { res } = ctx;
  res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-cache' });
  const line = async (obj: unknown) => {
    if (!res.write(`${JSON.stringify(obj)}\n`)) await firstEvent(res, ['drain', 'close']);
  };
  let closed = false;
  res.on('close', () => (closed = true));
  await line({ event: 'start', path: o.root });
  let count = 0;
  const budget = { left: o.contentBudget };
  try {
    for await (const e of walk(o.root, o.walk)) {
      if (closed) break;
      if (!passesFilters(e, o, false)) continue;
      if (count >= MAX_LIST_ENTRIES) {
        await line({ event: 'truncated', limit: MAX_LIST_ENTRIES });
        break;
      }
      await line(await toFileEntry(e, o, budget));
      count++;
    }
    if (!closed) await line({ event: 'done', count });
  } catch (err) {
    const e = err instanceof AppError ? err : fsError(err, o.root);
    if (!closed) await line({ event: 'error', success: false, code: e.code, message: publicMessage(e) });
  }
  res.end();
  return undefined;
}

