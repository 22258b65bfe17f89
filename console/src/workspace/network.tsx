/**
 * The network tab: an editor over `GET/PATCH /workspace/:id/network` — internet access,
 * egress hosts and ports, public access, ingress ports, private links (other workspaces
 * allowed to reach this one) — and what is in force. Save sends only what changed
 * (workspace/network-model.ts); the API's refusal shows at the field it names; Cancel
 * returns to what is in force. After a save the policy is read again and shown beside the form.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, describe } from '../api/errors.js';
import { getNetwork, patchNetwork, type NetworkPolicy } from '../api/network.js';
import { listWorkspaces, type Workspace } from '../api/workspaces.js';
import { ErrorBox, Loading } from '../components/status.js';
import { useAsync } from '../components/use-async.js';
import { CheckField, Field, focusFirstError } from '../create/fields.js';
import type { TabProps } from './tab-props.js';
import { diffNetwork, formOf, networkFieldOf, type NetworkField, type NetworkForm } from './network-model.js';
import { InForce } from './network-in-force.js';
import '../create/create.css';
import './overview.css';

const P = 'net';
type Errors = Partial<Record<NetworkField, string>>;

function LinkChoices(props: { selfId: string; others: Workspace[] | undefined; value: string[]; error?: string; onChange: (ids: string[]) => void }) {
  const known = (props.others ?? []).filter((w) => w.id !== props.selfId);
  const extra = props.value.filter((id) => !known.some((w) => w.id === id));
  const toggle = (id: string, on: boolean) => props.onChange(on ? [...props.value, id] : props.value.filter((x) => x !== id));
  const choices = [...known.map((w) => ({ id: w.id, label: w.name ? `${w.name} (${w.id})` : w.id })), ...extra.map((id) => ({ id, label: id }))];
  return (
    <fieldset class="link-choices" aria-describedby={`${P}-private_link_ids-hint${props.error ? ` ${P}-private_link_ids-error` : ''}`}>
      <legend>Private links</legend>
      <span class="hint muted" id={`${P}-private_link_ids-hint`}>Workspaces allowed to reach this one on its ingress ports (one way only).</span>
      {props.others === undefined && <Loading label="Loading the workspaces…" />}
      {props.others !== undefined && choices.length === 0 && <p class="muted">No other workspace to link.</p>}
      {choices.map((c) => (
        <label class="check" key={c.id}>
          <input type="checkbox" checked={props.value.includes(c.id)} onChange={(e) => toggle(c.id, e.currentTarget.checked)} />
          <span>{c.label}</span>
        </label>
      ))}
      {props.error && <span class="field-error" id={`${P}-private_link_ids-error`} role="alert">{props.error}</span>}
    </fieldset>
  );
}

function Editor(props: { id: string; current: NetworkPolicy; others: Workspace[] | undefined; onSaved: () => void }) {
  const [form, setForm] = useState<NetworkForm>(() => formOf(props.current));
  const [errors, setErrors] = useState<Errors>({});
  const [formError, setFormError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState(false);
  // A new policy in force (after a save) resets the form; the first render already has it
  // (resetting then could wipe what was typed before the effect ran).
  const shown = useRef(props.current);
  useEffect(() => {
    if (shown.current === props.current) return;
    shown.current = props.current;
    setForm(formOf(props.current));
  }, [props.current]);
  useEffect(() => {
    const names = Object.keys(errors);
    if (names.length) focusFirstError(P, names);
  }, [errors]);

  const patch = diffNetwork(props.current, form);
  const dirty = Object.keys(patch).length > 0;
  const set = <K extends NetworkField>(k: K) => (v: NetworkForm[K]) => { setSaved(false); setForm((f) => ({ ...f, [k]: v })); };

  const save = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setErrors({});
    setFormError(null);
    try {
      await patchNetwork(props.id, patch);
      setSaved(true);
      props.onSaved();
    } catch (err) {
      const field = err instanceof ApiError ? networkFieldOf(err.field) : undefined;
      if (field) setErrors({ [field]: describe(err) });
      else setFormError(err);
    } finally {
      setBusy(false);
    }
  };
  const cancel = () => { setForm(formOf(props.current)); setErrors({}); setFormError(null); };

  return (
    <form class="form-page net-form" onSubmit={save} noValidate aria-label="Network policy">
      <fieldset disabled={busy}>
        <legend>Outbound</legend>
        <CheckField prefix={P} name="allow_internet" label="Allow internet access" checked={form.allow_internet} error={errors.allow_internet} onChange={set('allow_internet')} />
        <Field prefix={P} name="egress" label="Egress hosts" error={errors.egress}
          hint={form.allow_internet ? 'Host names, *.wildcards, IPv4 addresses or CIDRs; empty: any public destination.' : 'Without internet access no egress host is kept.'}
          control={(a) => <input {...a} value={form.egress} disabled={!form.allow_internet} onInput={(e) => set('egress')(e.currentTarget.value)} />} />
        <Field prefix={P} name="egress_ports" label="Egress ports" hint="Empty: any port." error={errors.egress_ports}
          control={(a) => <input {...a} value={form.egress_ports} inputMode="numeric" onInput={(e) => set('egress_ports')(e.currentTarget.value)} />} />
      </fieldset>
      <fieldset disabled={busy}>
        <legend>Inbound</legend>
        <CheckField prefix={P} name="public_access" label="Public access" checked={form.public_access}
          hint="Warren's gateway and edge (the host) may reach the ingress ports." error={errors.public_access} onChange={set('public_access')} />
        <Field prefix={P} name="ingress_ports" label="Ingress ports" hint="e.g. 80, 443; empty: every port." error={errors.ingress_ports}
          control={(a) => <input {...a} value={form.ingress_ports} inputMode="numeric" onInput={(e) => set('ingress_ports')(e.currentTarget.value)} />} />
        <LinkChoices selfId={props.id} others={props.others} value={form.private_link_ids} error={errors.private_link_ids} onChange={set('private_link_ids')} />
      </fieldset>
      {formError !== null && <p class="error form-note" role="alert">{describe(formError)}</p>}
      <div class="form-actions">
        <button type="submit" disabled={busy || !dirty}>{busy ? 'Saving…' : 'Save'}</button>
        <button type="button" class="secondary" disabled={busy || !dirty} onClick={cancel}>Cancel</button>
        <span class="muted" role="status">{saved && !dirty ? 'Saved; it is in force now.' : dirty ? 'Unsaved changes.' : ''}</span>
      </div>
    </form>
  );
}

export function NetworkTab(props: TabProps) {
  const id = props.ws.id;
  const net = useAsync((signal) => getNetwork(id, signal), [id]);
  const others = useAsync((signal) => listWorkspaces(signal).catch(() => [] as Workspace[]), [id]);
  if (!net.data) return net.error ? <ErrorBox error={net.error} retry={net.reload} /> : <Loading label="Loading the network policy…" />;
  return (
    <div class="net-tab">
      <Editor id={id} current={net.data} others={others.data} onSaved={net.reload} />
      <ErrorBox error={net.error} retry={net.reload} />
      <InForce n={net.data} />
    </div>
  );
}
