/**
 * Control-plane authentication (spec README §2.1). API keys: X-Client-ID +
 * X-Client-Secret, the secret stored as a scrypt hash and compared in constant
 * time. A successful scrypt check is remembered as a SHA-256 of the secret so the
 * hot path does not pay scrypt on every request. Bearer tokens: the 30-day
 * workspace token, scoped to its one workspace.
 */
import { createHash, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError } from '../contract/errors.js';
import type { Store } from '../store/store.js';
import type { Principal } from '../control-plane/context.js';
import { hashSecret, verifySecret } from './secrets.js';
import { safeEqual } from './tokens.js';
import type { RateLimiter } from './rate-limit.js';

export interface BearerScoper {
  scopeOfBearer(token: string): { workspaceId: string; generation: number } | null;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** Failed sign-ins allowed per client id and per source address (src/domain/rate-limit.ts). */
export interface SignInGuard {
  byClient: RateLimiter;
  byAddress: RateLimiter;
}

export class Authenticator {
  private readonly verified = new Map<string, string>();

  constructor(
    private readonly store: Store,
    private readonly bearer: BearerScoper,
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

  /**
   * A secret verified before answers from the cache. Anything else costs an scrypt, so it
   * is refused (429) while the client id or the source address has used up its failed
   * sign-ins; each failure takes one from both.
   */
  private async byApiKey(clientId: string, secret: string, source: string): Promise<Principal> {
    const cached = this.verified.get(clientId);
    if (cached && safeEqual(cached, sha256(secret))) return { kind: 'admin', clientId };
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
    this.verified.set(clientId, sha256(secret));
    return { kind: 'admin', clientId };
  }

  private async byBearer(token: string): Promise<Principal> {
    const scope = this.bearer.scopeOfBearer(token);
    if (!scope) throw new AppError('unauthorized', 'Invalid or expired token');
    const rec = await this.store.getWorkspace(scope.workspaceId);
    if (!rec || rec.apiAccess.generation !== scope.generation) {
      throw new AppError('unauthorized', 'Invalid or expired token');
    }
    return { kind: 'workspace', workspaceId: rec.id };
  }

  /**
   * Ensures an admin key exists. With a preset id/secret (env) it is stored
   * (replacing an older hash of the same id). Otherwise, on the very first start
   * only, a key is generated, written to `<dataDir>/admin-credentials.json` (0600)
   * and returned so the caller can print it once.
   */
  async bootstrapAdmin(dataDir: string, preset?: { clientId: string; secret: string }) {
    if (preset) {
      const existing = await this.store.getApiKey(preset.clientId);
      if (!existing || !(await verifySecret(preset.secret, existing.secretHash))) {
        await this.store.putApiKey({ clientId: preset.clientId, secretHash: await hashSecret(preset.secret), scope: 'admin', createdAt: new Date().toISOString() });
      }
      return { created: false as const, clientId: preset.clientId };
    }
    if ((await this.store.countApiKeys()) > 0) return { created: false as const };
    const clientId = `wk_${randomBytes(8).toString('hex')}`;
    const secret = randomBytes(24).toString('base64url');
    await this.store.putApiKey({ clientId, secretHash: await hashSecret(secret), scope: 'admin', createdAt: new Date().toISOString() });
    const file = join(dataDir, 'admin-credentials.json');
    await writeFile(file, JSON.stringify({ client_id: clientId, client_secret: secret }, null, 2) + '\n', { mode: 0o600 });
    return { created: true as const, clientId, secret, file };
  }
}
