/**
 * Scoped access (spec README §2.1, control-plane.md §1): the POST /tokens body (camelCase
 * `workspaceId`, as the SDK sends it), API-key creation and signing-key rotation, parsed
 * into typed commands by their zod schemas (also the documented bodies). Every refusal names its field.
 */
import { z } from 'zod';
import { parseWith } from './zod-parse.js';

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

/** Optional printable text: absent, null and '' all mean "not given". */
function optionalText(field: string, max: number) {
  const rule = `${field} must be a string of at most ${max} printable characters`;
  // eslint-disable-next-line no-control-regex
  return z.string({ error: rule }).max(max, rule).regex(/^[^\x00-\x1f]*$/, rule).nullish();
}

const TTL_RULE = `ttl must be a whole number of seconds from ${TOKEN_TTL.min} to ${TOKEN_TTL.max}`;

/** 1–3600 s as a number or a numeric string; absent, null or '' is the default. */
const ttlField = z.union([z.number(), z.string(), z.null()], { error: TTL_RULE }).optional().refine((v) => {
  if (v === undefined || v === null || v === '') return true;
  const n = typeof v === 'string' ? (v.trim() === '' ? NaN : Number(v)) : v;
  return Number.isInteger(n) && n >= TOKEN_TTL.min && n <= TOKEN_TTL.max;
}, TTL_RULE);

/** POST /tokens (the SDK's camelCase `workspaceId`; `workspace_id` is folded into it before parsing). */
export const issueTokenSchema = z.looseObject({
  scope: z.enum(['namespace', 'workspace'], { error: 'scope must be "namespace" or "workspace"' }),
  namespace: optionalText('namespace', 128),
  workspaceId: optionalText('workspaceId', 128),
  ttl: ttlField,
  label: optionalText('label', 200),
}).superRefine((b, ctx) => {
  if (b.scope === 'namespace' && !b.namespace) ctx.addIssue({ code: 'custom', path: ['namespace'], message: 'namespace is required for a namespace-scoped token' });
  if (b.scope === 'workspace' && !b.workspaceId) ctx.addIssue({ code: 'custom', path: ['workspaceId'], message: 'workspaceId is required for a workspace-scoped token' });
});

/** POST /api-keys: a namespace key names its namespace, the others none. */
export const createApiKeySchema = z.looseObject({
  scope: z.enum(['admin', 'namespace', 'billing'], { error: 'scope must be "admin", "namespace" or "billing"' }).nullish(),
  namespace: optionalText('namespace', 128),
  label: optionalText('label', 200),
}).superRefine((b, ctx) => {
  const scope = b.scope ?? 'namespace';
  if (scope === 'namespace' && !b.namespace) ctx.addIssue({ code: 'custom', path: ['namespace'], message: 'namespace is required for a namespace-scoped key' });
  if (scope !== 'namespace' && b.namespace) ctx.addIssue({ code: 'custom', path: ['namespace'], message: 'only a namespace-scoped key names a namespace' });
});

/** POST /tokens/signing-key/rotate (`revoke_existing` is folded into `revokeExisting` before parsing). */
export const rotateKeySchema = z.looseObject({
  revokeExisting: z.boolean({ error: 'revokeExisting must be true or false' }).nullish(),
});

/** The body as an object with `alias` folded into `name` when `name` is absent (an alias's faults name `name`). */
function folded(body: unknown, name: string, alias: string): unknown {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return body;
  const b = body as Record<string, unknown>;
  return b[name] === undefined || b[name] === null ? { ...b, [name]: b[alias] ?? b[name] } : b;
}

export function parseIssueToken(body: unknown): IssueTokenCommand {
  const b = parseWith(issueTokenSchema, folded(body, 'workspaceId', 'workspace_id'));
  const ttl = b.ttl === undefined || b.ttl === null || b.ttl === '' ? TOKEN_TTL.default : Number(b.ttl);
  return {
    scope: b.scope,
    namespace: b.scope === 'namespace' ? b.namespace || null : null,
    workspaceId: b.scope === 'workspace' ? b.workspaceId || null : null,
    ttl,
    label: b.label || null,
  };
}

export function parseCreateApiKey(body: unknown): CreateApiKeyCommand {
  const b = parseWith(createApiKeySchema, body);
  return { scope: b.scope ?? 'namespace', namespace: b.namespace || null, label: b.label || null };
}

/** POST /tokens/signing-key/rotate: `revokeExisting` ends every token signed before at once. */
export function parseRotateKey(body: unknown): { revokeExisting: boolean } {
  const b = parseWith(rotateKeySchema, folded(body, 'revokeExisting', 'revoke_existing'));
  return { revokeExisting: b.revokeExisting ?? false };
}
