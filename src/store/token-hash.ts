/**
 * The lookup key of a workspace's raw runtime token (issue 16): the hex SHA-256 of the
 * token's UTF-8 bytes, kept in the indexed `workspaces.token_hash` column while runtime
 * access is enabled (null otherwise). Every replica resolves a raw token by this one
 * indexed query instead of a per-process map; the caller then compares the stored raw
 * token in constant time. Shared by the row mapper, migration 12 and RuntimeAccess.
 */
import { createHash } from 'node:crypto';

export function runtimeTokenHash(rawToken: string): string {
  return createHash('sha256').update(rawToken, 'utf8').digest('hex');
}

/** The column's value for an `apiAccess` state: the hash while enabled with a token, else null. */
export function tokenHashOf(apiAccess: { enabled: boolean; rawToken: string }): string | null {
  return apiAccess.enabled && apiAccess.rawToken ? runtimeTokenHash(apiAccess.rawToken) : null;
}
