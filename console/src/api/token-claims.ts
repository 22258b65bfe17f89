/**
 * What the console may read from a token it was given, without verifying it (the API is the
 * only judge): its scope, to open a workspace token straight on its workspace, and its expiry,
 * to say when the session will end. Anything unreadable is treated as "unknown".
 */
export interface TokenView {
  scope: 'namespace' | 'workspace' | 'unknown';
  workspaceId: string | null;
  expiresAt: Date | null;
}

function base64UrlDecode(part: string): string {
  const b64 = part.replace(/-/g, '+').replace(/_/g, '/');
  const padded = b64 + '='.repeat((4 - (b64.length % 4)) % 4);
  return atob(padded);
}

export function readToken(token: string): TokenView {
  const unknown: TokenView = { scope: 'unknown', workspaceId: null, expiresAt: null };
  const parts = token.split('.');
  if (parts.length !== 3) return unknown;
  try {
    const claims = JSON.parse(base64UrlDecode(parts[1]!)) as Record<string, unknown>;
    const ws = typeof claims.ws === 'string' ? claims.ws
      : typeof claims.workspace_id === 'string' ? claims.workspace_id : null;
    const scope = claims.scope === 'namespace' ? 'namespace' : ws ? 'workspace' : 'unknown';
    const exp = typeof claims.exp === 'number' ? new Date(claims.exp * 1000) : null;
    return { scope, workspaceId: ws, expiresAt: exp };
  } catch {
    return unknown;
  }
}
