/**
 * Runtime tokens (spec README §2.2).
 *
 * - Gateway JWT: HS256, signed with the server's secret, carries the routing data the
 *   gateway needs (workspace id, private IP, agent port) plus the workspace's token
 *   `generation`: rotating or disabling runtime access bumps the generation, which
 *   revokes every JWT minted before (the domain compares `gen` on each request).
 *   `kind: 'gateway'` lives 1 h, `kind: 'workspace'` (the long-lived token) 30 days.
 * - Raw connection token: 32 random bytes as 64 hex chars, checked by the in-workspace
 *   agent (and by the gateway through a lookup).
 *
 * Only node:crypto is used; signatures are compared in constant time.
 */
import { createHmac, randomBytes, timingSafeEqual, createHash } from 'node:crypto';

export const GATEWAY_TOKEN_TTL_SECONDS = 3600;
export const WORKSPACE_TOKEN_TTL_SECONDS = 30 * 24 * 3600;

export type RuntimeTokenKind = 'gateway' | 'workspace';

export interface GatewayTokenInput {
  workspaceId: string;
  ip: string;
  port: number;
  generation: number;
  kind: RuntimeTokenKind;
}

export interface GatewayTokenClaims {
  /** Workspace id. */
  sub: string;
  ip: string;
  port: number;
  /** Token generation of the workspace at signing time. */
  gen: number;
  kind: RuntimeTokenKind;
  /** Issued-at and expiry, seconds since the epoch. */
  iat: number;
  exp: number;
  /** Unique token id. */
  jti: string;
}

const HEADER_B64 = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));

function base64url(input: string | Buffer): string {
  return Buffer.from(input).toString('base64url');
}

function hmac(secret: string | Buffer, data: string): Buffer {
  return createHmac('sha256', secret).update(data).digest();
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** Signs a runtime JWT valid for `ttlSeconds` from now. */
export function signGatewayToken(
  secret: string | Buffer,
  input: GatewayTokenInput,
  ttlSeconds: number,
): string {
  if (!Number.isFinite(ttlSeconds) || ttlSeconds <= 0) throw new Error('ttlSeconds must be positive');
  const iat = nowSeconds();
  const claims: GatewayTokenClaims = {
    sub: input.workspaceId,
    ip: input.ip,
    port: input.port,
    gen: input.generation,
    kind: input.kind,
    iat,
    exp: iat + Math.floor(ttlSeconds),
    jti: randomBytes(12).toString('base64url'),
  };
  return signHs256(secret, {}, claims);
}

/** An HS256 JWT of `claims`; `header` adds fields (e.g. `kid`) to `{alg, typ}`. */
export function signHs256(secret: string | Buffer, header: Record<string, string>, claims: object): string {
  const head = Object.keys(header).length === 0 ? HEADER_B64 : base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT', ...header }));
  const signingInput = `${head}.${base64url(JSON.stringify(claims))}`;
  return `${signingInput}.${hmac(secret, signingInput).toString('base64url')}`;
}

const B64URL = /^[A-Za-z0-9_-]+$/;

/**
 * The payload of an HS256 JWT whose signature checks out with the key `keyFor` picks from
 * its header (null: unknown key); null for anything malformed, another algorithm, a bad
 * signature or a payload that is not an object. Expiry is the caller's business.
 */
export function verifyHs256(keyFor: (header: Record<string, unknown>) => string | Buffer | null, token: string): Record<string, unknown> | null {
  if (typeof token !== 'string' || token.length > 4096) return null;
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  const [headerB64, payloadB64, sigB64] = parts as [string, string, string];
  if (!B64URL.test(headerB64) || !B64URL.test(payloadB64) || !B64URL.test(sigB64)) return null;
  const header = parseJson(headerB64);
  if (!header || header.alg !== 'HS256') return null;
  const secret = keyFor(header);
  if (secret === null) return null;
  const expected = hmac(secret, `${headerB64}.${payloadB64}`);
  const given = Buffer.from(sigB64, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  return parseJson(payloadB64);
}

/**
 * Returns the claims of a valid, unexpired token signed with `secret`; null for
 * anything else (malformed, other algorithm, bad signature, wrong claim types, expired).
 */
export function verifyGatewayToken(secret: string | Buffer, token: string): GatewayTokenClaims | null {
  const claims = parseClaims(verifyHs256(() => secret, token));
  if (!claims || claims.exp <= nowSeconds()) return null;
  return claims;
}

function parseJson(b64: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(Buffer.from(b64, 'base64url').toString('utf8'));
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function parseClaims(p: Record<string, unknown> | null): GatewayTokenClaims | null {
  if (!p) return null;
  const { sub, ip, port, gen, kind, iat, exp, jti } = p;
  if (typeof sub !== 'string' || typeof ip !== 'string' || typeof jti !== 'string') return null;
  if (!Number.isInteger(port) || !Number.isInteger(gen) || !Number.isInteger(iat) || !Number.isInteger(exp)) {
    return null;
  }
  if (kind !== 'gateway' && kind !== 'workspace') return null;
  return { sub, ip, port: port as number, gen: gen as number, kind, iat: iat as number, exp: exp as number, jti };
}

/** True when `token` has the shape of a JWT (so it should be verified, not looked up). */
export function looksLikeJwt(token: string): boolean {
  return token.startsWith('eyJ') && token.split('.').length === 3;
}

/** A fresh raw connection token: 32 random bytes as 64 lowercase hex chars. */
export function newRawToken(): string {
  return randomBytes(32).toString('hex');
}

/**
 * Constant-time string equality. Both sides are hashed first so neither the
 * content nor the length of the secret leaks through timing.
 */
export function safeEqual(a: string, b: string): boolean {
  const da = createHash('sha256').update(a, 'utf8').digest();
  const db = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(da, db);
}
