/**
 * Input rules of public access (control-plane.md §8). The bodies are parsed at the edge by
 * their zod schemas (also their documented bodies); the domain (src/domain/public-access.ts)
 * checks the run-time reserved ports on the typed command. Every failure is an AppError with
 * a stable code and `details.field`.
 */
import { z } from 'zod';
import { AppError } from './errors.js';
import { parseWith } from './zod-parse.js';

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

/** Refuses a port the workspace agent holds (known at run time: the domain passes its list). */
export function assertNotReserved(port: number, reserved: readonly number[] = RESERVED_PORTS): void {
  if (reserved.includes(port)) {
    throw new AppError('port_reserved', `Port ${port} is reserved for the workspace agent and cannot be exposed`, {
      field: 'port',
    });
  }
}

/** A port from a path parameter (decimal string) or a number. */
export function parsePort(value: unknown, reserved: readonly number[] = RESERVED_PORTS): number {
  const n = typeof value === 'string' && /^\d{1,5}$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 65535) {
    throw new AppError('validation_error', PORT_RULE, { field: 'port' });
  }
  assertNotReserved(n, reserved);
  return n;
}

const PORT_RULE = 'port must be an integer between 1 and 65535';
const SLUG_RULE = 'slug must be 1–63 lowercase letters, digits or hyphens, starting and ending with a letter or digit';
const slug = z.string({ error: SLUG_RULE }).regex(SLUG_PATTERN, SLUG_RULE);
const LABEL_RULE = `label must be a printable string of at most ${MAX_LABEL} characters`;
const label = z.string({ error: LABEL_RULE }).max(MAX_LABEL, LABEL_RULE).refine((v) => !NON_PRINTABLE.test(v), LABEL_RULE);

/**
 * POST /workspace/:id/public-access `{ port, label?, slug?, domain? }` (null is as absent).
 * The port is a JSON number here (a string is refused); whether it is reserved for the agent
 * is the domain's check (`assertNotReserved`), on the typed command. A custom domain needs
 * proven ownership, which Warren cannot check yet: any domain is refused with
 * `domain_not_verified` rather than silently ignored.
 */
export const exposeSchema = z.looseObject({
  port: z.number({ error: PORT_RULE }).int(PORT_RULE).min(1, PORT_RULE).max(65535, PORT_RULE),
  label: label.nullish(),
  slug: slug.nullish(),
  domain: z.string({ error: 'domain must be a string' }).refine(() => false, {
    message: 'Custom domains need verified ownership, which this server does not support yet',
    params: { code: 'domain_not_verified' },
  }).nullish().describe('Refused with domain_not_verified (not supported yet)'),
});

export function parseExpose(body: unknown): ExposeInput {
  const b = parseWith(exposeSchema, body);
  const out: ExposeInput = { port: b.port };
  if (b.label != null) out.label = b.label;
  if (b.slug != null) out.slug = b.slug;
  return out;
}

/** PATCH /workspace/:id/public-access/:port `{ slug }` (other fields are ignored). */
export const slugUpdateSchema = z.looseObject({
  slug: z.string({ error: (i) => (i.input == null ? 'slug is required' : SLUG_RULE) }).regex(SLUG_PATTERN, SLUG_RULE),
});

export function parseSlugUpdate(body: unknown): string {
  return parseWith(slugUpdateSchema, body).slug;
}
