/**
 * Queries of the workspace listings (control-plane.md §2): GET /workspace and GET
 * /workspace/archived. `page` and `limit` are judged (422 `validation_error` naming the
 * field); the filters are passed on as given, '' being "not given".
 */
import { z } from 'zod';
import { numberOr, wholeNumber } from './query-text.js';
import { parseWith } from './zod-parse.js';

export interface WorkspaceListQuery {
  page: number;
  limit: number;
  namespace?: string;
  mode?: string;
  state?: string;
}

/** GET /workspace: `page` (from 1), `limit` (1–100, default 20), filters `namespace`, `mode`, `status`. */
export const workspaceListQuerySchema = z.object({
  page: wholeNumber('page', 1, 1_000_000, 1).describe('Page number from 1'),
  limit: wholeNumber('limit', 1, 100, 20).describe('Page size, 1–100, default 20'),
  namespace: z.string().optional().describe('Namespace slug'),
  mode: z.string().optional().describe('permanent | temporary'),
  status: z.string().optional().describe('Workspace state'),
});

/** GET /workspace/archived: the same paging and the namespace filter. */
export const archivedListQuerySchema = workspaceListQuerySchema.pick({ page: true, limit: true, namespace: true });

export function parseWorkspaceList(q: Record<string, string | undefined>): WorkspaceListQuery {
  const b = parseWith(workspaceListQuerySchema, q);
  return {
    page: numberOr(b.page, 1),
    limit: numberOr(b.limit, 20),
    namespace: b.namespace || undefined,
    mode: b.mode || undefined,
    state: b.status || undefined,
  };
}

export function parseArchivedList(q: Record<string, string | undefined>): WorkspaceListQuery {
  const b = parseWith(archivedListQuerySchema, q);
  return { page: numberOr(b.page, 1), limit: numberOr(b.limit, 20), namespace: b.namespace || undefined };
}
