/**
 * The signed-in credential, kept in sessionStorage only (gone when the tab closes; never a
 * cookie, so the API has no CSRF surface) and sent as the API's usual headers.
 */
export type Credential =
  | { kind: 'key'; clientId: string; clientSecret: string }
  | { kind: 'token'; token: string };

const KEY = 'warren.credential';

export function loadCredential(): Credential | null {
  try {
    const raw = sessionStorage.getItem(KEY);
    if (!raw) return null;
    const value = JSON.parse(raw) as Credential;
    if (value.kind === 'key' && value.clientId && value.clientSecret) return value;
    if (value.kind === 'token' && value.token) return value;
  } catch { /* a damaged entry is the same as none */ }
  return null;
}

export function saveCredential(c: Credential): void {
  sessionStorage.setItem(KEY, JSON.stringify(c));
}

export function clearCredential(): void {
  sessionStorage.removeItem(KEY);
}

/** The request headers that carry a credential. */
export function authHeaders(c: Credential): Record<string, string> {
  return c.kind === 'key'
    ? { 'X-Client-ID': c.clientId, 'X-Client-Secret': c.clientSecret }
    : { Authorization: `Bearer ${c.token}` };
}

/** Reads what a pasted secret is: `client_id:client_secret`, or a token. */
export function parseSecretInput(clientId: string, secret: string): Credential | null {
  const id = clientId.trim();
  const s = secret.trim();
  if (!s) return null;
  if (id) return { kind: 'key', clientId: id, clientSecret: s };
  return { kind: 'token', token: s };
}
