/**
 * Scoped control-plane JWTs (POST /tokens, control-plane.md §1): HS256 tokens pinned to one
 * namespace or one workspace, living 1–3600 s.
 *
 * - Signed with the newest key of a ring kept in the data dir (KeyRingPort); the key id is
 *   the header's `kid`. Rotation adds a key and retires the old one, which still verifies
 *   the tokens it signed until they expire (at most TOKEN_TTL.max later), unless the
 *   rotation revokes them all.
 * - Every issued token is recorded (never the token itself) so it can be listed and
 *   revoked; revoked ids are held in memory, so verification costs no store read.
 * - A caller can only narrow its scope: a namespace caller issues tokens for its own
 *   namespace or its own workspaces, and asking for anything else is 403, whether it
 *   exists or not.
 */
import { randomBytes } from 'node:crypto';
import { AppError } from '../contract/errors.js';
import { TOKEN_TTL, type IssueTokenCommand } from '../contract/tokens.js';
import type { AccessTokenRecord, NamespaceRecord, Store, WorkspaceRecord } from '../store/store.js';
import type { KeyRingPort, SigningKey } from './ports.js';
import { reaches, type Principal } from './principal.js';
import { nowSeconds, signHs256, verifyHs256 } from './tokens.js';

export interface AccessClaims {
  typ: 'access';
  scope: 'namespace' | 'workspace';
  /** Namespace id (namespace scope). */
  ns: string | null;
  /** Workspace id (workspace scope). */
  ws: string | null;
  iat: number;
  exp: number;
  jti: string;
}

export interface IssuedToken {
  id: string;
  token: string;
  scope: 'namespace' | 'workspace';
  ttl: number;
  expiresAt: string;
  namespace: string | null;
  workspaceId: string | null;
}

export interface AccessTokenDeps {
  store: Store;
  ring: KeyRingPort;
  /** A workspace by id or slug; null when there is none. */
  findWorkspace(idOrSlug: string): Promise<WorkspaceRecord | null>;
  /** Called after a rotation or revocation was stored: the other replicas re-read (reload). */
  changed?: () => void;
}

const newKey = (): SigningKey => ({
  kid: randomBytes(6).toString('hex'), key: randomBytes(32).toString('base64url'), createdAt: new Date().toISOString(), retiredAt: null,
});

function parseClaims(p: Record<string, unknown> | null): AccessClaims | null {
  if (!p || p.typ !== 'access' || (p.scope !== 'namespace' && p.scope !== 'workspace')) return null;
  const { ns, ws, iat, exp, jti } = p;
  if (typeof jti !== 'string' || !Number.isInteger(iat) || !Number.isInteger(exp)) return null;
  if (p.scope === 'namespace' ? typeof ns !== 'string' : typeof ws !== 'string') return null;
  return { typ: 'access', scope: p.scope, ns: typeof ns === 'string' ? ns : null, ws: typeof ws === 'string' ? ws : null, iat: iat as number, exp: exp as number, jti };
}

function outOfScope(what: string, field: string): AppError {
  return new AppError('forbidden', `${what} is not in this caller's scope`, { field });
}

export class AccessTokens {
  private keys: SigningKey[] = [];
  private readonly keyBytes = new Map<string, Buffer>();
  /** Revoked token ids → their expiry (seconds); pruned once expired. */
  private readonly revoked = new Map<string, number>();

  constructor(private readonly d: AccessTokenDeps) {}

  /** Loads (or makes) the key ring and the revoked ids of tokens still alive. */
  async init(): Promise<void> {
    const loaded = await this.d.ring.load();
    // A first start creates the ring; of replicas starting together, everyone uses the first one's.
    const ring = loaded && loaded.length > 0 ? loaded : await this.d.ring.create([newKey()]);
    this.setKeys(this.dropExpiredKeys(ring));
    if (ring.length !== this.keys.length) await this.d.ring.save(this.keys);
    await this.loadRevoked();
  }

  /**
   * Re-reads the ring and the revoked ids (another replica rotated or revoked: the
   * `access.keys` bus message). Keys are replaced only by a non-empty ring.
   */
  async reload(): Promise<void> {
    const loaded = await this.d.ring.load();
    if (loaded && loaded.length > 0) this.setKeys(this.dropExpiredKeys(loaded));
    await this.loadRevoked();
  }

  private async loadRevoked(): Promise<void> {
    for (const t of await this.d.store.liveAccessTokens(new Date().toISOString())) {
      if (t.revokedAt) this.revoked.set(t.id, Date.parse(t.expiresAt) / 1000);
    }
  }

  /** Claims of a valid, unexpired, unrevoked token; null for anything else. */
  verify(token: string): AccessClaims | null {
    const claims = parseClaims(verifyHs256((h) => (typeof h.kid === 'string' ? this.keyBytes.get(h.kid) ?? null : null), token));
    if (!claims || claims.exp <= nowSeconds() || this.revoked.has(claims.jti)) return null;
    return claims;
  }

  async issue(cmd: IssueTokenCommand, by: Principal): Promise<IssuedToken> {
    const target = await this.target(cmd, by);
    const iat = nowSeconds();
    const claims: AccessClaims = {
      typ: 'access', scope: cmd.scope, ns: target.ns?.id ?? null, ws: target.ws?.id ?? null,
      iat, exp: iat + cmd.ttl, jti: `tok_${randomBytes(12).toString('hex')}`,
    };
    const expiresAt = new Date(claims.exp * 1000).toISOString();
    await this.d.store.putAccessToken({
      id: claims.jti, scope: cmd.scope, namespaceId: claims.ns, workspaceId: claims.ws, label: cmd.label,
      issuedBy: issuerOf(by), createdAt: new Date(iat * 1000).toISOString(), expiresAt, revokedAt: null,
    });
    const current = this.keys.at(-1)!;
    return {
      id: claims.jti, token: signHs256(this.keyBytes.get(current.kid)!, { kid: current.kid }, claims), scope: cmd.scope, ttl: cmd.ttl,
      expiresAt, namespace: target.ns?.slug ?? null, workspaceId: claims.ws,
    };
  }

  /** Live tokens the caller may see (a namespace caller: those of its namespace and its workspaces). */
  async list(by: Principal): Promise<AccessTokenRecord[]> {
    const all = await this.d.store.liveAccessTokens(new Date().toISOString());
    if (by.kind === 'admin') return all;
    const visible: AccessTokenRecord[] = [];
    for (const t of all) if (await this.visibleTo(t, by)) visible.push(t);
    return visible;
  }

  /** Revokes at once; a token the caller may not see is 403, the same as a missing one. */
  async revoke(id: string, by: Principal): Promise<void> {
    const t = (await this.d.store.liveAccessTokens(new Date().toISOString())).find((x) => x.id === id);
    if (!t || !(await this.visibleTo(t, by))) {
      if (by.kind === 'admin') throw new AppError('not_found', `Token ${id} not found (or already expired)`, { field: 'id' });
      throw outOfScope(`Token ${id}`, 'id');
    }
    await this.d.store.revokeAccessToken(id, new Date().toISOString());
    this.revoked.set(id, Date.parse(t.expiresAt) / 1000);
    this.d.changed?.();
  }

  /** A new signing key; `revokeExisting` also ends every token signed before. */
  async rotate(revokeExisting: boolean): Promise<{ kid: string; revoked: number }> {
    const now = new Date().toISOString();
    const fresh = newKey();
    const kept = revokeExisting ? [] : this.dropExpiredKeys(this.keys.map((k) => ({ ...k, retiredAt: k.retiredAt ?? now })));
    await this.d.ring.save([...kept, fresh]);
    this.setKeys([...kept, fresh]);
    let revoked = 0;
    if (revokeExisting) {
      for (const t of await this.d.store.liveAccessTokens(now)) {
        if (t.revokedAt) continue;
        await this.d.store.revokeAccessToken(t.id, now);
        this.revoked.set(t.id, Date.parse(t.expiresAt) / 1000);
        revoked++;
      }
    }
    this.d.changed?.();
    return { kid: fresh.kid, revoked };
  }

  /** Forgets revoked ids and stored rows of tokens that have expired anyway. */
  async prune(): Promise<void> {
    const now = nowSeconds();
    for (const [id, exp] of this.revoked) if (exp <= now) this.revoked.delete(id);
    await this.d.store.pruneAccessTokens(new Date().toISOString());
  }

  private setKeys(keys: SigningKey[]): void {
    this.keys = keys;
    this.keyBytes.clear();
    for (const k of keys) this.keyBytes.set(k.kid, Buffer.from(k.key, 'base64url'));
  }

  /** Retired keys can be dropped once every token they signed has expired. */
  private dropExpiredKeys(keys: SigningKey[]): SigningKey[] {
    const cutoff = Date.now() - TOKEN_TTL.max * 1000;
    return keys.filter((k) => k.retiredAt === null || Date.parse(k.retiredAt) > cutoff);
  }

  private async target(cmd: IssueTokenCommand, by: Principal): Promise<{ ns: NamespaceRecord | null; ws: WorkspaceRecord | null }> {
    if (cmd.scope === 'namespace') {
      const ns = await this.d.store.findNamespace(cmd.namespace!);
      if (by.kind === 'namespace' && ns?.id !== by.namespace.id) throw outOfScope(`Namespace ${cmd.namespace}`, 'namespace');
      if (!ns) throw new AppError('not_found', `Namespace ${cmd.namespace} not found`, { field: 'namespace' });
      return { ns, ws: null };
    }
    const ws = await this.d.findWorkspace(cmd.workspaceId!);
    if (by.kind !== 'admin' && (!ws || !reaches(by, ws))) throw outOfScope(`Workspace ${cmd.workspaceId}`, 'workspaceId');
    if (!ws) throw new AppError('not_found', `Workspace ${cmd.workspaceId} not found`, { field: 'workspaceId' });
    return { ns: ws.namespace ? await this.d.store.findNamespace(ws.namespace) : null, ws };
  }

  private async visibleTo(t: AccessTokenRecord, by: Principal): Promise<boolean> {
    if (by.kind === 'admin') return true;
    if (by.kind !== 'namespace') return false;
    if (t.namespaceId === by.namespace.id) return true;
    const ws = t.workspaceId ? await this.d.store.getWorkspace(t.workspaceId) : null;
    return !!ws && reaches(by, ws);
  }
}

function issuerOf(p: Principal): string {
  if (p.kind === 'admin' || p.kind === 'billing') return p.clientId;
  if (p.kind === 'namespace') return p.tokenId ? `token:${p.tokenId}` : p.clientId ?? 'namespace';
  return p.tokenId ? `token:${p.tokenId}` : `workspace:${p.workspaceId}`;
}
