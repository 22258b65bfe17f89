/**
 * Resource change bodies (control-plane.md §9, and the MCP overlay resize of §5).
 * Shape and type only; ranges against the operator's limits are checked by the
 * domain (they are configuration, not contract).
 */
import { z } from 'zod';
import { numberOr, wholeNumber } from './query-text.js';
import { parseWith } from './zod-parse.js';

export interface ResourcesCommand {
  cpus?: number;
  memory_mb?: number;
  disk_size_mb?: number;
  /** false: store the change and apply it at the next start. Default true (live). */
  apply: boolean;
}

/** A positive number, or a numeric string (CLI flags). */
function positive(field: string) {
  const rule = `${field} must be a positive number`;
  return z.union([z.number(), z.string()], { error: rule }).refine((v) => {
    const n = typeof v === 'string' ? (v.trim() === '' ? NaN : Number(v)) : v;
    return Number.isFinite(n) && n > 0;
  }, rule);
}

/**
 * PUT|PATCH /workspace/:id/resources. Aliases: `ram_mb` for `memory_mb`; `writable_size_mb`
 * and `disk_mb` for `disk_size_mb` (the first given wins). At least one size.
 */
export const resourcesSchema = z.looseObject({
  cpus: positive('cpus').optional(),
  memory_mb: positive('memory_mb').optional(),
  ram_mb: positive('ram_mb').optional(),
  disk_size_mb: positive('disk_size_mb').optional(),
  writable_size_mb: positive('writable_size_mb').optional(),
  disk_mb: positive('disk_mb').optional(),
  apply: z.union([z.boolean(), z.enum(['true', 'false'])], { error: 'apply must be a boolean' }).optional()
    .describe('false: store the change and apply it at the next start (default true: live)'),
}).refine((b) => [b.cpus, b.memory_mb, b.ram_mb, b.disk_size_mb, b.writable_size_mb, b.disk_mb].some((v) => v !== undefined),
  'Give at least one of cpus, memory_mb, disk_size_mb');

/** PUT /workspace/:id/overlay/resize `{ size_mb }` (MCP workspace_disk_resize). */
export const overlayResizeSchema = z.looseObject({ size_mb: positive('size_mb') });

const toNumber = (v: number | string): number => (typeof v === 'string' ? Number(v) : v);

export function parseResources(body: unknown): ResourcesCommand {
  const b = parseWith(resourcesSchema, body);
  const cmd: ResourcesCommand = { apply: b.apply === undefined ? true : b.apply === true || b.apply === 'true' };
  if (b.cpus !== undefined) cmd.cpus = toNumber(b.cpus);
  const memory = b.memory_mb ?? b.ram_mb;
  if (memory !== undefined) cmd.memory_mb = Math.round(toNumber(memory));
  const disk = b.disk_size_mb ?? b.writable_size_mb ?? b.disk_mb;
  if (disk !== undefined) cmd.disk_size_mb = Math.round(toNumber(disk));
  return cmd;
}

export function parseOverlayResize(body: unknown): ResourcesCommand {
  return { disk_size_mb: Math.round(toNumber(parseWith(overlayResizeSchema, body).size_mb)), apply: true };
}

/** GET /workspace/:id/overlay: `limit` (1–10000, default 1000) entries at most; `path` is accepted and not used (the whole layer is listed). */
export const overlayListQuerySchema = z.object({
  path: z.string().optional().describe('Directory in the VM (accepted; the whole layer is listed)'),
  limit: wholeNumber('limit', 1, 10_000, 1000).describe('Entries at most, 1–10000, default 1000'),
});

export function parseOverlayList(q: Record<string, string | undefined>): { limit: number } {
  return { limit: numberOr(parseWith(overlayListQuerySchema, q).limit, 1000) };
}
