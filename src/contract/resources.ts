/**
 * Resource change bodies (control-plane.md §9, and the MCP overlay resize of §5).
 * Shape and type only; ranges against the operator's limits are checked by the
 * domain (they are configuration, not contract).
 */
import { AppError } from './errors.js';

export interface ResourcesCommand {
  cpus?: number;
  memory_mb?: number;
  disk_size_mb?: number;
  /** false: store the change and apply it at the next start. Default true (live). */
  apply: boolean;
}

function bad(field: string, message: string): never {
  throw new AppError('validation_error', message, { field });
}

/** Numbers may arrive as numeric strings (CLI flags). */
function number(v: unknown, field: string): number {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isFinite(n) || n <= 0) bad(field, `${field} must be a positive number`);
  return n;
}

export function parseResources(body: unknown): ResourcesCommand {
  if (!body || typeof body !== 'object' || Array.isArray(body)) bad('body', 'Request body must be a JSON object');
  const b = body as Record<string, unknown>;
  const cmd: ResourcesCommand = { apply: true };
  if (b.cpus !== undefined) cmd.cpus = number(b.cpus, 'cpus');
  const memory = b.memory_mb ?? b.ram_mb;
  if (memory !== undefined) cmd.memory_mb = Math.round(number(memory, b.memory_mb !== undefined ? 'memory_mb' : 'ram_mb'));
  const disk = b.disk_size_mb ?? b.writable_size_mb ?? b.disk_mb;
  const diskField = b.disk_size_mb !== undefined ? 'disk_size_mb' : b.writable_size_mb !== undefined ? 'writable_size_mb' : 'disk_mb';
  if (disk !== undefined) cmd.disk_size_mb = Math.round(number(disk, diskField));
  if (b.apply !== undefined) {
    if (typeof b.apply !== 'boolean' && b.apply !== 'true' && b.apply !== 'false') bad('apply', 'apply must be a boolean');
    cmd.apply = b.apply === true || b.apply === 'true';
  }
  if (cmd.cpus === undefined && cmd.memory_mb === undefined && cmd.disk_size_mb === undefined) {
    bad('body', 'Give at least one of cpus, memory_mb, disk_size_mb');
  }
  return cmd;
}

/** PUT /workspace/:id/overlay/resize `{ size_mb }` (MCP workspace_disk_resize). */
export function parseOverlayResize(body: unknown): ResourcesCommand {
  if (!body || typeof body !== 'object' || Array.isArray(body)) bad('body', 'Request body must be a JSON object');
  return { disk_size_mb: Math.round(number((body as Record<string, unknown>).size_mb, 'size_mb')), apply: true };
}
