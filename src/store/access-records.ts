/**
 * Records of who may call the control plane: API keys (admin, namespace or billing
 * scoped; the secret only as a scrypt hash) and the scoped JWTs issued by POST /tokens
 * (kept for listing and revocation; the token itself is never stored).
 */

export type ApiKeyScope = 'admin' | 'namespace' | 'billing';

export interface ApiKeyRecord {
  clientId: string;
  /** scrypt hash of the secret, `scrypt$<salt-hex>$<hash-hex>`. */
  secretHash: string;
  scope: ApiKeyScope;
  /** The namespace a `namespace` key is pinned to (its id); null otherwise. */
  namespaceId?: string | null;
  label?: string | null;
  createdAt: string;
}

export type AccessTokenScope = 'namespace' | 'workspace';

export interface AccessTokenRecord {
  /** The token's `jti`. */
  id: string;
  scope: AccessTokenScope;
  namespaceId: string | null;
  workspaceId: string | null;
  label: string | null;
  /** Who asked for it: an API key's client id, or `token:<jti>` of a namespace token. */
  issuedBy: string;
  createdAt: string;
  expiresAt: string;
  revokedAt: string | null;
}
