/**
 * Sign-in with an API key (client id + secret, as printed at first start) or a scoped token.
 * The credential is checked against the API before it is kept.
 */
import { useState } from 'preact/hooks';
import { probeCredential } from '../api/client.js';
import { describe } from '../api/errors.js';
import { authHeaders, parseSecretInput, saveCredential, type Credential } from '../api/session.js';

export function SignIn(props: { notice: string | null; signedIn: boolean; onSignedIn: (c: Credential) => void }) {
  const [mode, setMode] = useState<'key' | 'token'>('key');
  const [clientId, setClientId] = useState('');
  const [secret, setSecret] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    const cred = parseSecretInput(mode === 'key' ? clientId : '', secret);
    if (!cred || (mode === 'key' && !clientId.trim())) {
      setError(mode === 'key' ? 'Enter the client id and the client secret.' : 'Paste a token.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await probeCredential(authHeaders(cred));
      saveCredential(cred);
      props.onSignedIn(cred);
    } catch (err) {
      setError(describe(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="sign-in" id="main">
      <form class="card" onSubmit={submit} aria-labelledby="sign-in-title">
        <h1 id="sign-in-title">Warren</h1>
        <p class="muted">Sign in with an API key or a scoped token. It is kept in this tab only.</p>
        {props.notice && <p class="notice" role="status">{props.notice}</p>}
        <div class="segmented" role="radiogroup" aria-label="Credential kind">
          <label><input type="radio" name="kind" checked={mode === 'key'} onChange={() => setMode('key')} /> API key</label>
          <label><input type="radio" name="kind" checked={mode === 'token'} onChange={() => setMode('token')} /> Token</label>
        </div>
        {mode === 'key' && (
          <label class="field">Client id
            <input name="client_id" autocomplete="username" value={clientId} onInput={(e) => setClientId(e.currentTarget.value)} required />
          </label>
        )}
        <label class="field">{mode === 'key' ? 'Client secret' : 'Token'}
          {mode === 'key'
            ? <input name="client_secret" type="password" autocomplete="current-password" value={secret} onInput={(e) => setSecret(e.currentTarget.value)} required />
            : <textarea name="token" rows={4} value={secret} onInput={(e) => setSecret(e.currentTarget.value)} required />}
        </label>
        {error && <p class="error" role="alert">{error}</p>}
        <button type="submit" disabled={busy}>{busy ? 'Signing in…' : 'Sign in'}</button>
      </form>
    </main>
  );
}
