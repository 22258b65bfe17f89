/**
 * Public ports (`/workspace/:id/public-access`): the exposed ports with their URLs (the host
 * name URL and the path on Warren's own origin), expose a port (with an optional label), and
 * revoke one after a confirmation. The API's refusals show at the port or label field.
 */
import { useState } from 'preact/hooks';
import { ApiError, describe } from '../api/errors.js';
import { exposePort, listPublicPorts, revokePort, type PublicPort } from '../api/public-access.js';
import type { Workspace } from '../api/workspaces.js';
import { useConfirm } from '../components/confirm.js';
import { ErrorBox, ListStatus } from '../components/status.js';
import { useAsync } from '../components/use-async.js';
import { Field } from '../create/fields.js';
import { numberOrText } from '../create/create-body.js';

const P = 'expose';

function PortRow(props: { p: PublicPort; onRevoke: () => void; busy: boolean }) {
  const { p } = props;
  return (
    <li class="port-row">
      <span class="port-num mono">{p.port}</span>
      {p.label && <span class="muted">{p.label}</span>}
      <span class="port-urls">
        {p.url && <a href={p.url} target="_blank" rel="noreferrer noopener">{p.url}</a>}
        {p.path_url && <a href={p.path_url} target="_blank" rel="noreferrer noopener">{p.path_url}</a>}
      </span>
      <button type="button" class="danger" disabled={props.busy} onClick={props.onRevoke} aria-label={`Revoke port ${p.port}`}>Revoke</button>
    </li>
  );
}

function ExposeForm(props: { id: string; onDone: () => void }) {
  const [port, setPort] = useState('');
  const [label, setLabel] = useState('');
  const [errors, setErrors] = useState<{ port?: string; label?: string; form?: unknown }>({});
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setErrors({});
    try {
      await exposePort(props.id, numberOrText(port), label.trim() || undefined);
      setPort('');
      setLabel('');
      props.onDone();
    } catch (err) {
      const f = err instanceof ApiError ? err.field : undefined;
      setErrors(f === 'port' || f === 'label' ? { [f]: describe(err) } : { form: err });
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="expose-form" onSubmit={submit} noValidate aria-label="Expose a port">
      <Field prefix={P} name="port" label="Port" error={errors.port}
        control={(a) => <input {...a} type="number" inputMode="numeric" value={port} onInput={(e) => setPort(e.currentTarget.value)} />} />
      <Field prefix={P} name="label" label="Label (optional)" error={errors.label}
        control={(a) => <input {...a} value={label} onInput={(e) => setLabel(e.currentTarget.value)} />} />
      <button type="submit" disabled={busy}>{busy ? 'Exposing…' : 'Expose'}</button>
      {errors.form !== undefined && <ErrorBox error={errors.form} />}
    </form>
  );
}

export function PortsCard(props: { ws: Workspace }) {
  const id = props.ws.id;
  const ports = useAsync((signal) => listPublicPorts(id, signal), [id]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const { confirm, element } = useConfirm();
  const revoke = async (p: PublicPort) => {
    if (!(await confirm(`Revoke public access to port ${p.port}? Its URLs stop working at once.`, 'Revoke'))) return;
    setBusy(true);
    setError(null);
    try {
      await revokePort(id, p.port);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
      ports.reload();
    }
  };
  return (
    <section class="card ov-card" aria-labelledby="ov-ports">
      <h2 id="ov-ports">Public ports</h2>
      <ListStatus state={ports} loading="Loading the public ports…" isEmpty={ports.data?.length === 0} empty="No port is exposed." />
      {ports.data && ports.data.length > 0
        && <ul class="port-list">{ports.data.map((p) => <PortRow key={p.port} p={p} busy={busy} onRevoke={() => revoke(p)} />)}</ul>}
      <ErrorBox error={error} />
      <ExposeForm id={id} onDone={ports.reload} />
      {element}
    </section>
  );
}
