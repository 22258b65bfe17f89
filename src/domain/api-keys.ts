/**
 * API keys beyond the admin's (issue 11): an admin makes keys pinned to one namespace, or
 * billing keys, or more admin keys. The secret is shown once, in the create answer, and
 * stored only as a scrypt hash. Deleting a key ends it at once.
 */
import { randomBytes } from 'node:crypto';
import { AppError } from '../contract/errors.js';
import type { CreateApiKeyCommand } from '../contract/tokens.js';
import type { ApiKeyRecord, Store } from '../store/store.js';
import { hashSecret } from './secrets.js';

export interface ApiKeyView {
  client_id: string;
  scope: ApiKeyRecord['scope'];
  namespace: string | null;
  label: string | null;
  created_at: string;
}

export class ApiKeyService {
  constructor(
    private readonly store: Store,
    /** Drops a deleted key from the authenticator's cache. */
    private readonly forget: (clientId: string) => void,
  ) {}

  async create(cmd: CreateApiKeyCommand): Promise<ApiKeyView & { client_secret: string }> {
    let namespaceId: string | null = null;
    if (cmd.namespace) {
      const ns = await this.store.findNamespace(cmd.namespace);
      if (!ns) throw new AppError('not_found', `Namespace ${cmd.namespace} not found`, { field: 'namespace' });
      namespaceId = ns.id;
    }
    const secret = randomBytes(24).toString('base64url');
    const rec: ApiKeyRecord = {
      clientId: `wk_${randomBytes(8).toString('hex')}`, secretHash: await hashSecret(secret), scope: cmd.scope,
      namespaceId, label: cmd.label, createdAt: new Date().toISOString(),
    };
    await this.store.putApiKey(rec);
    return { ...(await this.view(rec)), client_secret: secret };
  }

  async list(): Promise<ApiKeyView[]> {
    return Promise.all((await this.store.allApiKeys()).map((k) => this.view(k)));
  }

  /** `self` is the caller's own client id: an admin cannot delete the key it is using. */
  async remove(clientId: string, self: string): Promise<void> {
    if (clientId === self) throw new AppError('conflict', 'A key cannot delete itself; use another admin key', { field: 'client_id' });
    if (!(await this.store.deleteApiKey(clientId))) throw new AppError('not_found', `API key ${clientId} not found`, { field: 'client_id' });
    this.forget(clientId);
  }

  private async view(k: ApiKeyRecord): Promise<ApiKeyView> {
    const ns = k.namespaceId ? await this.store.findNamespace(k.namespaceId) : null;
    return { client_id: k.clientId, scope: k.scope, namespace: ns?.slug ?? null, label: k.label ?? null, created_at: k.createdAt };
  }
}
