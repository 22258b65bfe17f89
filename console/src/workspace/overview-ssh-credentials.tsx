/**
 * How root signs in over SSH: set a password (`POST …/ssh/password`) or a public key
 * (`POST …/ssh/key`, which makes the workspace key-only), as `oblien ssh set-password` /
 * `set-key` do. A workspace created with SSH on has neither until one is set here. The
 * API's refusal shows at the field.
 */
import { useState } from 'preact/hooks';
import { describe } from '../api/errors.js';
import { setSshKey, setSshPassword } from '../api/ssh.js';
import { Field } from '../create/fields.js';

type Kind = 'password' | 'public_key';

function CredentialForm(props: { kind: Kind; id: string; onDone: (note: string) => void }) {
  const [value, setValue] = useState('');
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const isKey = props.kind === 'public_key';
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await (isKey ? setSshKey(props.id, value.trim()) : setSshPassword(props.id, value));
      setValue('');
      props.onDone(isKey ? 'Public key set; passwords are no longer accepted.' : 'Password set.');
    } catch (err) {
      setError(describe(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="ssh-cred" onSubmit={submit} noValidate aria-label={isKey ? 'Set the public key' : 'Set the password'}>
      <Field prefix="ssh" name={props.kind} label={isKey ? 'Public key' : 'Password'} error={error}
        hint={isKey ? 'One OpenSSH line, e.g. ssh-ed25519 AAAA… you@host.' : '8–128 characters.'}
        control={(a) => isKey
          ? <textarea {...a} class="code" rows={2} value={value} onInput={(e) => setValue(e.currentTarget.value)} />
          : <input {...a} type="password" autocomplete="new-password" value={value} onInput={(e) => setValue(e.currentTarget.value)} />} />
      <button type="submit" class="secondary" disabled={busy || value === ''}>{busy ? 'Saving…' : isKey ? 'Set the key' : 'Set the password'}</button>
    </form>
  );
}

export function SshCredentials(props: { id: string; onChanged: () => void }) {
  const [note, setNote] = useState('');
  const done = (n: string) => { setNote(n); props.onChanged(); };
  return (
    <details class="ssh-creds">
      <summary>Password or public key</summary>
      <CredentialForm kind="password" id={props.id} onDone={done} />
      <CredentialForm kind="public_key" id={props.id} onDone={done} />
      <p class="muted" role="status">{note}</p>
    </details>
  );
}
