/**
 * SSH (`/workspace/:id/ssh`): on or off, the command users run (`ssh root@<id> -J
 * root@<jump host>`, as `oblien ssh connect` runs it) with a Copy button, and enable /
 * disable (disable asks first: live sessions end). The password enable makes is shown once;
 * root's password or key can be set while SSH is on (overview-ssh-credentials.tsx).
 */
import { useState } from 'preact/hooks';
import { disableSsh, enableSsh, getSsh, type SshStatus } from '../api/ssh.js';
import type { Workspace } from '../api/workspaces.js';
import { useConfirm } from '../components/confirm.js';
import { CopyField } from '../components/copy.js';
import { ErrorBox, Loading } from '../components/status.js';
import { useAsync } from '../components/use-async.js';
import { SshCredentials } from './overview-ssh-credentials.js';

function Details(props: { s: SshStatus; password: string | null }) {
  const { s } = props;
  if (s.supported === false) return <p class="muted">SSH is not available on this server.</p>;
  if (!s.ssh_enabled) return <p class="muted">SSH is off.</p>;
  return (
    <div class="ssh-details">
      {s.connection
        ? <CopyField value={s.connection.command} label="SSH command" />
        : <p class="muted">SSH is on; the command appears once a jump host is available.</p>}
      {props.password && (
        <div class="notice">
          <p>The password for <code>root</code>, shown this once:</p>
          <CopyField value={props.password} label="SSH password" />
        </div>
      )}
      {s.auth_methods && <p class="muted">Sign-in with: {s.auth_methods.join(', ')}.</p>}
    </div>
  );
}

export function SshCard(props: { ws: Workspace }) {
  const id = props.ws.id;
  const ssh = useAsync((signal) => getSsh(id, signal), [id, props.ws.access?.ssh_enabled]);
  const [password, setPassword] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const { confirm, element } = useConfirm();

  const toggle = async (on: boolean) => {
    if (!on && !(await confirm('Turn SSH off? Open SSH sessions end at once.', 'Turn off'))) return;
    setBusy(true);
    setError(null);
    try {
      const s = on ? await enableSsh(id) : await disableSsh(id);
      setPassword(on ? s.ssh_password ?? null : null);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
      ssh.reload();
    }
  };

  const s = ssh.data;
  return (
    <section class="card ov-card" aria-labelledby="ov-ssh">
      <h2 id="ov-ssh">SSH</h2>
      {s ? <Details s={s} password={password} /> : !ssh.error && <Loading label="Loading SSH…" />}
      <ErrorBox error={ssh.error} retry={ssh.reload} />
      {s && s.supported !== false && (
        <div class="row">
          {s.ssh_enabled
            ? <button type="button" class="secondary" disabled={busy} onClick={() => toggle(false)}>{busy ? 'Turning off…' : 'Turn SSH off'}</button>
            : <button type="button" disabled={busy} onClick={() => toggle(true)}>{busy ? 'Turning on…' : 'Turn SSH on'}</button>}
        </div>
      )}
      {s?.ssh_enabled && <SshCredentials id={id} onChanged={ssh.reload} />}
      <ErrorBox error={error} />
      {element}
    </section>
  );
}
