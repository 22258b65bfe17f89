/**
 * Input rules of public access (control-plane.md §8). Pure: the domain
 * (src/domain/public-access.ts) applies them; every failure is an AppError with a
 * stable code and `details.field`.
 */
import { AppError } from './errors.js';

/** The agent's port inside every workspace; it is reached through the gateway only. */
export const RESERVED_PORTS: readonly number[] = [9990];
export const MAX_EXPOSURES_PER_WORKSPACE = 20;
export const SLUG_PATTERN = /^[a-z0-9]([a-z0-9-]{1,61}[a-z0-9])?$/;
const MAX_LABEL = 64;
/** Printable: no C0/C1 control characters (labels are shown in tables and URLs' neighbours). */
const NON_PRINTABLE = /[\u0000-\u001f\u007f-\u009f]/;

export interface ExposeInput {
  port: number;
  label?: string;
  slug?: string;
}

/** A port from a body (number) or a path parameter (decimal string). */
export function parsePort(value: unknown, reserved: readonly number[] = RESERVED_PORTS): number {
  const n = typeof value === 'string' && /^\d{1,5}$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 65535) {
    throw new AppError('validation_error', 'port must be an integer between 1 and 65535', { field: 'port' });
  }
  if (reserved.includes(n)) {
    throw new AppError('port_reserved', `Port ${n} is reserved for the workspace agent and cannot be exposed`, {
      field: 'port',
    });
  }
  return n;
}

export function parseSlug(value: unknown): string {
  if (typeof value !== 'string' || !SLUG_PATTERN.test(value)) {
    throw new AppError(
      'validation_error',
      'slug must be 1–63 lowercase letters, digits or hyphens, starting and ending with a letter or digit',
      { field: 'slug' },
    );
  }
  return value;
}

export function parseLabel(value: unknown): string {
  if (typeof value !== 'string' || value.length > MAX_LABEL || NON_PRINTABLE.test(value)) {
    throw new AppError('validation_error', `label must be a printable string of at most ${MAX_LABEL} characters`, {
      field: 'label',
    });
  }
  return value;
}

/**
 * POST body `{ port, label?, slug?, domain? }`. A custom domain needs proven
 * ownership, which Warren cannot check yet: any domain is refused with
 * `domain_not_verified` rather than silently ignored.
 */
export function parseExpose(body: Record<string, unknown>, reserved: readonly number[] = RESERVED_PORTS): ExposeInput {
  if (typeof body.port !== 'number') {
    throw new AppError('validation_error', 'port must be an integer between 1 and 65535', { field: 'port' });
  }
  const port = parsePort(body.port, reserved);
  const out: ExposeInput = { port };
  if (body.label !== undefined && body.label !== null) out.label = parseLabel(body.label);
  if (body.slug !== undefined && body.slug !== null) out.slug = parseSlug(body.slug);
  if (body.domain !== undefined && body.domain !== null) {
    if (typeof body.domain !== 'string') {
      throw new AppError('validation_error', 'domain must be a string', { field: 'domain' });
    }
    throw new AppError('domain_not_verified', 'Custom domains need verified ownership, which this server does not support yet', {
      field: 'domain',
    });
  }
  return out;
}

/** PATCH body `{ slug }`. */
export function parseSlugUpdate(body: Record<string, unknown>): string {
  if (body.slug === undefined || body.slug === null) {
    throw new AppError('validation_error', 'slug is required', { field: 'slug' });
  }
  return parseSlug(body.slug);
}
