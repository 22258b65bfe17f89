/**
 * Create a workspace: image (from `GET /workspace/images`), name, resources, mode (TTL and
 * its action when temporary), network basics and SSH, sent as the SDK sends them
 * (create/create-body.ts). A refusal puts the API's message at the field `details.field`
 * names, or above the buttons when it names none the form has. Ingress ports and egress hosts
 * have no place in the create body: they are PATCHed once the workspace exists (that call
 * waits for provisioning; its progress is shown). Then the workspace page opens, where the
 * workspace is seen becoming running.
 */
import { useEffect, useState } from 'preact/hooks';
import { ApiError, describe } from '../api/errors.js';
import { createWorkspace, getLimits, type ResourceLimit } from '../api/create-workspace.js';
import { listImages, type ImageItem } from '../api/images.js';
import { patchNetwork } from '../api/network.js';
import type { Workspace } from '../api/workspaces.js';
import { Link } from '../components/link.js';
import { useAsync } from '../components/use-async.js';
import { navigate } from '../router.js';
import { buildCreateBody, EMPTY_FORM, formFieldOf, networkExtras, TTL_ACTIONS, type CreateForm, type FormField } from '../create/create-body.js';
import { CheckField, Field, focusFirstError } from '../create/fields.js';
import { ProvisionWatch } from '../create/provision-watch.js';
import '../create/create.css';

const P = 'create';
type Errors = Partial<Record<FormField, string>>;

function rangeHint(l: ResourceLimit | undefined, unit = ''): string | undefined {
  return l ? `${l.min}–${l.max}${unit}; default ${l.default}${unit}` : undefined;
}

function imageLabel(img: ImageItem): string {
  const name = img.label && img.label !== img.id ? `${img.label} (${img.id})` : img.id;
  if (img.status === 'failed') return `${name} — last build failed`;
  return img.built === false ? `${name} — built on first use` : name;
}

/** `onDefault` proposes the first image; the form keeps any image chosen meanwhile. */
function ImageField(props: { value: string; error?: string; onChange: (v: string) => void; onDefault: (v: string) => void }) {
  const images = useAsync((signal) => listImages(signal), []);
  useEffect(() => {
    const first = images.data?.[0];
    if (first) props.onDefault(first.id);
  }, [images.data]);
  if (images.error || (images.data && images.data.length === 0)) {
    // The list could not be read: the image is typed instead (the API still checks it).
    return <Field prefix={P} name="image" label="Image" error={props.error}
      hint={images.error ? `The image list could not be read (${describe(images.error)}); type an image name.` : 'No images are listed; type an image name.'}
      control={(a) => <input {...a} value={props.value} onInput={(e) => props.onChange(e.currentTarget.value)} />} />;
  }
  return <Field prefix={P} name="image" label="Image" error={props.error} hint={images.loading && !images.data ? 'Loading the images…' : undefined}
    control={(a) => (
      <select {...a} value={props.value} onChange={(e) => props.onChange(e.currentTarget.value)}>
        {(images.data ?? []).map((img) => <option key={img.id} value={img.id}>{imageLabel(img)}</option>)}
      </select>
    )} />;
}

export function CreateWorkspace() {
  const [form, setForm] = useState<CreateForm>(EMPTY_FORM);
  const [errors, setErrors] = useState<Errors>({});
  const [formError, setFormError] = useState<unknown>(null);
  const [phase, setPhase] = useState<'idle' | 'creating' | 'network'>('idle');
  const [created, setCreated] = useState<Workspace | null>(null);
  const limits = useAsync((signal) => getLimits(signal), []);
  const set = <K extends FormField>(k: K) => (v: CreateForm[K]) => setForm((f) => ({ ...f, [k]: v }));

  const fail = (err: unknown) => {
    const field = err instanceof ApiError ? formFieldOf(err.field) : undefined;
    if (field) setErrors({ [field]: describe(err) });
    else setFormError(err);
  };
  // After the fields are enabled again, the first one in error gets the focus.
  useEffect(() => {
    const names = Object.keys(errors);
    if (names.length) focusFirstError(P, names);
  }, [errors]);

  const submit = async (e: Event) => {
    e.preventDefault();
    setErrors({});
    setFormError(null);
    let ws = created;
    try {
      if (!ws) {
        setPhase('creating');
        ws = await createWorkspace(buildCreateBody(form));
        setCreated(ws);
      }
      const extras = networkExtras(form);
      if (extras) {
        setPhase('network');
        await patchNetwork(ws.id, extras);
      }
      navigate({ name: 'workspace', id: ws.id, tab: 'overview' });
    } catch (err) {
      fail(err);
      setPhase('idle');
    }
  };

  const busy = phase !== 'idle';
  const lim = limits.data ?? undefined;
  return (
    <section class="form-page">
      <h1>New workspace</h1>
      <form onSubmit={submit} noValidate aria-describedby={created ? 'create-created' : undefined}>
        <fieldset disabled={busy || created !== null}>
          <legend>Image and name</legend>
          <ImageField value={form.image} error={errors.image} onChange={set('image')}
            onDefault={(id) => setForm((f) => (f.image ? f : { ...f, image: id }))} />
          <Field prefix={P} name="name" label="Name" hint="Optional; at most 255 characters." error={errors.name}
            control={(a) => <input {...a} value={form.name} autocomplete="off" onInput={(e) => set('name')(e.currentTarget.value)} />} />
        </fieldset>
        <fieldset disabled={busy || created !== null}>
          <legend>Resources</legend>
          <div class="grid">
            <Field prefix={P} name="cpus" label="CPUs" hint={rangeHint(lim?.cpus)} error={errors.cpus}
              control={(a) => <input {...a} type="number" inputMode="decimal" value={form.cpus} onInput={(e) => set('cpus')(e.currentTarget.value)} />} />
            <Field prefix={P} name="memory_mb" label="Memory (MB)" hint={rangeHint(lim?.memory_mb, ' MB')} error={errors.memory_mb}
              control={(a) => <input {...a} type="number" inputMode="numeric" value={form.memory_mb} onInput={(e) => set('memory_mb')(e.currentTarget.value)} />} />
            <Field prefix={P} name="disk_size_mb" label="Disk (MB)" hint={rangeHint(lim?.writable_size_mb, ' MB')} error={errors.disk_size_mb}
              control={(a) => <input {...a} type="number" inputMode="numeric" value={form.disk_size_mb} onInput={(e) => set('disk_size_mb')(e.currentTarget.value)} />} />
          </div>
        </fieldset>
        <fieldset disabled={busy || created !== null}>
          <legend>Lifecycle</legend>
          <Field prefix={P} name="mode" label="Mode" error={errors.mode} hint="A temporary workspace ends when its TTL runs out."
            control={(a) => (
              <select {...a} value={form.mode} onChange={(e) => set('mode')(e.currentTarget.value as CreateForm['mode'])}>
                <option value="permanent">Permanent</option>
                <option value="temporary">Temporary</option>
              </select>
            )} />
          {form.mode === 'temporary' && (
            <div class="grid">
              <Field prefix={P} name="ttl" label="TTL" hint='Seconds or a duration: "30m", "1h", "7d".' error={errors.ttl}
                control={(a) => <input {...a} value={form.ttl} placeholder="1h" onInput={(e) => set('ttl')(e.currentTarget.value)} />} />
              <Field prefix={P} name="ttl_action" label="When the TTL runs out" error={errors.ttl_action}
                control={(a) => (
                  <select {...a} value={form.ttl_action} onChange={(e) => set('ttl_action')(e.currentTarget.value)}>
                    {TTL_ACTIONS.map((t) => <option key={t} value={t}>{t}</option>)}
                  </select>
                )} />
            </div>
          )}
        </fieldset>
        <fieldset disabled={busy}>
          <legend>Network and access</legend>
          <CheckField prefix={P} name="allow_internet" label="Allow internet access" checked={form.allow_internet}
            error={errors.allow_internet} onChange={set('allow_internet')} disabled={created !== null} />
          <Field prefix={P} name="ingress_ports" label="Ingress ports" hint="Ports that linked workspaces (and the host, with public access) may reach, e.g. 80, 443; empty: every port." error={errors.ingress_ports}
            control={(a) => <input {...a} value={form.ingress_ports} inputMode="numeric" onInput={(e) => set('ingress_ports')(e.currentTarget.value)} />} />
          <Field prefix={P} name="egress" label="Egress hosts" error={errors.egress}
            hint={form.allow_internet ? 'Only these hosts, IPs or CIDRs may be reached (empty: any public destination). Separate with commas or spaces.' : 'Without internet access nothing outside is reached.'}
            control={(a) => <input {...a} value={form.egress} disabled={!form.allow_internet} onInput={(e) => set('egress')(e.currentTarget.value)} />} />
          <CheckField prefix={P} name="ssh" label="Enable SSH" checked={form.ssh} error={errors.ssh} onChange={set('ssh')} disabled={created !== null}
            hint="Then set root's password or key, and copy the ssh command, on the workspace's overview." />
        </fieldset>
        {created && (
          <p class="notice form-note" id="create-created">
            Workspace <Link to={{ name: 'workspace', id: created.id, tab: 'overview' }}>{created.name || created.id}</Link> was
            created, but its network settings were refused. Correct them and apply them again, or open the workspace.
          </p>
        )}
        {formError !== null && <p class="error form-note" role="alert">{describe(formError)}</p>}
        {phase === 'network' && created && <ProvisionWatch id={created.id} />}
        <div class="form-actions">
          <button type="submit" disabled={busy}>
            {phase === 'creating' ? 'Creating…' : phase === 'network' ? 'Applying the network settings…' : created ? 'Apply the network settings' : 'Create workspace'}
          </button>
          <Link to="/console/">Cancel</Link>
        </div>
      </form>
    </section>
  );
}
