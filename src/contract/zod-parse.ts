/**
 * Runs a request schema at the edge and turns its first issue into the one AppError the
 * wire promises: the code registered for the failing field (a seed code such as
 * INVALID_IMAGE, else `validation_error`) and `details.field` naming it (`body` for the
 * body itself). Issues come in the schema's key order, so the key order of a schema is the
 * order its fields are judged in. A refinement whose refusal has a code of its own (not the
 * field's) carries it as `params: { code }` (e.g. `not_implemented` for a recognised but
 * unsupported value).
 */
import type { z } from 'zod';
import { AppError, type ErrorCode } from './errors.js';

export type FieldCodes = Readonly<Record<string, ErrorCode>>;

/** `['vm_paths', 3]` → `vm_paths[3]`, `['config', 'cpus']` → `config.cpus` (as the hand-written parsers name them). */
function fieldName(path: readonly PropertyKey[]): string {
  return path.reduce<string>((out, k) => (typeof k === 'number' ? `${out}[${k}]` : out ? `${out}.${String(k)}` : String(k)), '');
}

export function parseWith<S extends z.ZodType>(schema: S, value: unknown, codes: FieldCodes = {}): z.output<S> {
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw new AppError('validation_error', 'Request body must be a JSON object', { field: 'body' });
  }
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const field = issue && issue.path.length > 0 ? fieldName(issue.path) : 'body';
  const top = String(issue?.path[0] ?? field);
  const own = issue?.code === 'custom' ? (issue.params as { code?: ErrorCode } | undefined)?.code : undefined;
  const code = own ?? codes[field] ?? codes[top] ?? 'validation_error';
  throw new AppError(code, issue?.message ?? 'Invalid request body', { field });
}
