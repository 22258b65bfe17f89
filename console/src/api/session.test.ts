import { beforeEach, describe, expect, it } from 'vitest';
import { authHeaders, clearCredential, loadCredential, parseSecretInput, saveCredential } from './session.js';
import { readToken } from './token-claims.js';
import { ApiError, describe as describeError, fieldOf } from './errors.js';

function jwt(claims: Record<string, unknown>): string {
  const b64 = (o: unknown) => btoa(JSON.stringify(o)).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
  return `${b64({ alg: 'HS256' })}.${b64(claims)}.sig`;
}

describe('session', () => {
  beforeEach(() => sessionStorage.clear());

  it('keeps a credential in sessionStorage only and sends the usual headers', () => {
    const key = parseSecretInput(' id ', ' secret ')!;
    expect(key).toEqual({ kind: 'key', clientId: 'id', clientSecret: 'secret' });
    saveCredential(key);
    expect(loadCredential()).toEqual(key);
    expect(authHeaders(key)).toEqual({ 'X-Client-ID': 'id', 'X-Client-Secret': 'secret' });
    expect(authHeaders({ kind: 'token', token: 't' })).toEqual({ Authorization: 'Bearer t' });
    clearCredential();
    expect(loadCredential()).toBeNull();
    expect(document.cookie).toBe('');
  });

  it('treats a damaged entry as none', () => {
    sessionStorage.setItem('warren.credential', '{not json');
    expect(loadCredential()).toBeNull();
    sessionStorage.setItem('warren.credential', JSON.stringify({ kind: 'key', clientId: '' }));
    expect(loadCredential()).toBeNull();
  });

  it('reads a token scope and expiry without trusting it', () => {
    expect(readToken(jwt({ scope: 'workspace', ws: 'ws_1', exp: 10 }))).toEqual({ scope: 'workspace', workspaceId: 'ws_1', expiresAt: new Date(10_000) });
    expect(readToken(jwt({ scope: 'namespace', ns: 'ns_1' })).scope).toBe('namespace');
    expect(readToken('garbage').scope).toBe('unknown');
    expect(readToken('a.@@@.c').scope).toBe('unknown');
  });
});

describe('ApiError', () => {
  it('carries the envelope code, field and current state', () => {
    const err = new ApiError(409, { code: 'invalid_state', message: 'Workspace is paused', details: { field: 'status', current_state: 'paused' } }, 'x');
    expect(err.code).toBe('invalid_state');
    expect(err.field).toBe('status');
    expect(describeError(err)).toBe('Workspace is paused (the workspace is paused)');
    expect(fieldOf(new ApiError(400, { code: 'validation_error', message: 'm', details: { field: 'config.cpus' } }, 'x'))).toBe('cpus');
    expect(new ApiError(0, null, 'offline').code).toBe('network_error');
    expect(new ApiError(502, null, 'fallback').message).toBe('fallback');
  });
});
