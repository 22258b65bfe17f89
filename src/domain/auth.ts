/**
 * Control-plane authentication (spec README §2.1): who is calling, as a Principal.
 *
 * - API keys: X-Client-ID + X-Client-Secret, the secret stored as a scrypt hash and
 *   compared in constant time. A successful scrypt check is remembered as a SHA-256 of the
 *   secret so the hot path does not pay scrypt on every request; deleting a key forgets it.
 *   A key is admin, billing or pinned to one namespace.
 * - Bearer tokens: a scoped JWT from POST /tokens (namespace or workspace), or the 30-day
 *   workspace token (its one workspace).
 * - A scoped caller whose namespace or workspace no longer exists is unauthenticated (401),
 *   as is an expired or revoked token.
 */
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { AppError } from '../contract/errors.js';
import type { ApiKeyRecord, Store } from '../store/store.js';
import { hashSecret, verifySecret } from './secrets.js';
import { safeEqual } from './tokens.js';
import type { RateLimiter } from './rate-limit.js';
import type { AccessClaims } from './access-tokens.js';
import { pinOf, type Principal } from './principal.js';
import type { FilesPort } from './ports.js';

export interface BearerScoper {
  scopeOfBearer(token: string): { workspaceId: string; generation: number } | null;
}

export interface AccessTokenVerifier {
  verify(token: string): AccessClaims | null;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** Failed sign-ins allowed per client id and per source address (src/domain/rate-limit.ts). */
export interface SignInGuard {
  byClient: RateLimiter;
  byAddress: RateLimiter;
}

const invalidToken = () => new AppError('unauthorized', 'Invalid or expired token');

export class Authenticator {
  private readonly verified = new Map<string, { digest: string; key: ApiKeyRecord }>();

  constructor(
    private readonly store: Store,
    private readonly bearer: BearerScoper,
    private readonly access: AccessTokenVerifier,
    private readonly guard?: SignInGuard,
  ) {}

  /** `source` is the caller's address, for the failed sign-in throttle. */
  async authenticate(headers: { get(name: string): string | undefined | null }, source = 'unknown'): Promise<Principal> {
    const clientId = headers.get('x-client-id');
    const secret = headers.get('x-client-secret');
    if (clientId && secret) return this.byApiKey(clientId, secret, source);
    const auth = headers.get('authorization');
    const m = auth ? /^Bearer\s+(\S+)$/i.exec(auth) : null;
    if (m?.[1]) return this.byBearer(m[1]);
    throw new AppError('unauthorized', 'Missing credentials: send X-Client-ID and X-Client-Secret, or a Bearer token');
  }

  /** A deleted key stops working at once, even while its secret is cached. */
  forget(clientId: string): void {
    this.verified.delete(clientId);
  }

  /**
   * A secret verified before answers from the cache. Anything else costs an scrypt, so it
   * is refused (429) while the client id or the source address has used up its failed
   * sign-ins; each failure takes one from both.
   */
  private async byApiKey(clientId: string, secret: string, source: string): Promise<Principal> {
    const cached = this.verified.get(clientId);
    if (cached && safeEqual(cached.digest, sha256(secret))) return this.principalOfKey(cached.key);
    const g = this.guard;
    const wait = g ? Math.max(g.byClient.waitFor(`id:${clientId}`), g.byAddress.waitFor(`ip:${source}`)) : 0;
    if (wait > 0) {
      throw new AppError('rate_limited', 'Too many failed sign-ins; try again later', { retry_after: wait });
    }
    const key = await this.store.getApiKey(clientId);
    if (!key || !(await verifySecret(secret, key.secretHash))) {
      g?.byClient.take(`id:${clientId}`);
      g?.byAddress.take(`ip:${source}`);
      throw new AppError('unauthorized', 'Invalid API key');
    }
    this.verified.set(clientId, { digest: sha256(secret), key });
    return this.principalOfKey(key);
  }

  private async principalOfKey(key: ApiKeyRecord): Promise<Principal> {
    if (key.scope === 'admin') return { kind: 'admin', clientId: key.clientId };
    if (key.scope === 'billing') return { kind: 'billing', clientId: key.clientId };
    const ns = key.namespaceId ? await this.store.findNamespace(key.namespaceId) : null;
    if (!ns) throw new AppError('unauthorized', 'This API key\'s namespace no longer exists');
    return { kind: 'namespace', namespace: pinOf(ns), clientId: key.clientId };
  }

  private async byBearer(token: string): Promise<Principal> {
    const claims = this.access.verify(token);
    if (claims) return this.principalOfClaims(claims);
    const scope = this.bearer.scopeOfBearer(token);
    if (!scope) throw invalidToken();
    const rec = await this.store.getWorkspace(scope.workspaceId);
    if (!rec || rec.apiAccess.generation !== scope.generation) throw invalidToken();
    const ns = rec.namespace ? await this.store.findNamespace(rec.namespace) : null;
    return { kind: 'workspace', workspaceId: rec.id, namespace: ns ? pinOf(ns) : null };
  }

  private async principalOfClaims(c: AccessClaims): Promise<Principal> {
    if (c.scope === 'namespace') {
      const ns = await this.store.findNamespace(c.ns!);
      if (!ns || ns.id !== c.ns) throw invalidToken();
      return { kind: 'namespace', namespace: pinOf(ns), tokenId: c.jti };
    }
    const rec = await this.store.getWorkspace(c.ws!);
    if (!rec) throw invalidToken();
    const ns = rec.namespace ? await this.store.findNamespace(rec.namespace) : null;
    return { kind: 'workspace', workspaceId: rec.id, namespace: ns ? pinOf(ns) : null, tokenId: c.jti };
  }

  /**
   * Ensures an admin key exists. With a preset id/secret (env) it is stored
   * (replacing an older hash of the same id). Otherwise, on the very first start
   * only, a key is generated, written to `<dataDir>/admin-credentials.json` (0600)
   * (through `where.files`) and returned so the caller can print it once.
   */
  async bootstrapAdmin(where: { dataDir: string; files: FilesPort }, preset?: { clientId: string; secret: string }) {
    if (preset) {
      const existing = await this.store.getApiKey(preset.clientId);
      if (!existing || existing.scope !== 'admin' || !(await verifySecret(preset.secret, existing.secretHash))) {
        await this.store.putApiKey({ clientId: preset.clientId, secretHash: await hashSecret(preset.secret), scope: 'admin', createdAt: new Date().toISOString() });
      }
      return { created: false as const, clientId: preset.clientId };
    }
    if ((await this.store.countApiKeys()) > 0) return { created: false as const };
    const clientId = `wk_${randomBytes(8).toString('hex')}`;
    const secret = randomBytes(24).toString('base64url');
    await this.store.putApiKey({ clientId, secretHash: await hashSecret(secret), scope: 'admin', createdAt: new Date().toISOString() });
    const file = join(where.dataDir, 'admin-credentials.json');
    await where.files.writeAtomic(file, JSON.stringify({ client_id: clientId, client_secret: secret }, null, 2) + '\n', 0o600);
    return { created: true as const, clientId, secret, file };
  }
}
