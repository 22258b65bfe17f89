/**
 * Scoped access (spec README §2.1, control-plane.md §1): the POST /tokens body (camelCase
 * `workspaceId`, as the SDK sends it), API-key creation and signing-key rotation, parsed
 * into typed commands. Every refusal names its field.
 */
import { AppError } from './errors.js';

/** Lifetime of a scoped JWT: 1–3600 s, 900 s when not given. */
export const TOKEN_TTL = { min: 1, max: 3600, default: 900 } as const;

export interface IssueTokenCommand {
  scope: 'namespace' | 'workspace';
  namespace: string | null;
  workspaceId: string | null;
  ttl: number;
  label: string | null;
}

export interface CreateApiKeyCommand {
  scope: 'admin' | 'namespace' | 'billing';
  namespace: string | null;
  label: string | null;
}

function fail(field: string, message: string): never {
  throw new AppError('validation_error', message, { field });
}

function object(body: unknown): Record<string, unknown> {
  if (!body || typeof body !== 'object' || Array.isArray(body)) fail('body', 'Request body must be a JSON object');
  return body as Record<string, unknown>;
}

function optionalText(v: unknown, field: string, max: number): string | null {
  if (v === undefined || v === null || v === '') return null;
  if (typeof v !== 'string' || v.length > max || /[\x00-\x1f]/.test(v)) fail(field, `${field} must be a string of at most ${max} printable characters`);
  return v;
}

function ttlOf(v: unknown): number {
  if (v === undefined || v === null || v === '') return TOKEN_TTL.default;
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < TOKEN_TTL.min || n > TOKEN_TTL.max) {
    fail('ttl', `ttl must be a whole number of seconds from ${TOKEN_TTL.min} to ${TOKEN_TTL.max}`);
  }
  return n;
}

export function parseIssueToken(body: unknown): IssueTokenCommand {
  const b = object(body);
  const scope = b.scope;
  if (scope !== 'namespace' && scope !== 'workspace') fail('scope', 'scope must be "namespace" or "workspace"');
  const namespace = optionalText(b.namespace, 'namespace', 128);
  const workspaceId = optionalText(b.workspaceId ?? b.workspace_id, 'workspaceId', 128);
  if (scope === 'namespace' && !namespace) fail('namespace', 'namespace is required for a namespace-scoped token');
  if (scope === 'workspace' && !workspaceId) fail('workspaceId', 'workspaceId is required for a workspace-scoped token');
  return { scope, namespace: scope === 'namespace' ? namespace : null, workspaceId: scope === 'workspace' ? workspaceId : null, ttl: ttlOf(b.ttl), label: optionalText(b.label, 'label', 200) };
}

export function parseCreateApiKey(body: unknown): CreateApiKeyCommand {
  const b = object(body);
  const scope = b.scope ?? 'namespace';
  if (scope !== 'admin' && scope !== 'namespace' && scope !== 'billing') fail('scope', 'scope must be "admin", "namespace" or "billing"');
  const namespace = optionalText(b.namespace, 'namespace', 128);
  if (scope === 'namespace' && !namespace) fail('namespace', 'namespace is required for a namespace-scoped key');
  if (scope !== 'namespace' && namespace) fail('namespace', 'only a namespace-scoped key names a namespace');
  return { scope, namespace, label: optionalText(b.label, 'label', 200) };
}

/** POST /tokens/signing-key/rotate: `revokeExisting` ends every token signed before at once. */
export function parseRotateKey(body: unknown): { revokeExisting: boolean } {
  const b = object(body);
  const v = b.revokeExisting ?? b.revoke_existing ?? false;
  if (typeof v !== 'boolean') fail('revokeExisting', 'revokeExisting must be true or false');
  return { revokeExisting: v };
}
