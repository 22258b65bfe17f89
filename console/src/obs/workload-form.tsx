/**
 * The form that creates a workload (control-plane.md §11): a name, a shell command (run
 * by /bin/sh -c) and a restart policy. A refusal shows the API's message at the field it
 * names (`name`, `command`) or above the form.
 */
import { useState } from 'preact/hooks';
import { fieldOf } from '../api/errors.js';
import { createWorkload, type NewWorkload, type Workload } from '../api/workloads.js';
import { ErrorBox } from '../components/status.js';

const POLICIES: NewWorkload['restart_policy'][] = ['on-failure', 'always', 'never'];

export function WorkloadForm(props: { workspaceId: string; onCreated: (w: Workload) => void }) {
  const [name, setName] = useState('');
  const [command, setCommand] = useState('');
  const [policy, setPolicy] = useState<NewWorkload['restart_policy']>('on-failure');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const field = fieldOf(error);
  const at = (f: string) => field === f || (f === 'command' && field === 'cmd');

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const w = await createWorkload(props.workspaceId, { name, command, restart_policy: policy });
      setName('');
      setCommand('');
      props.onCreated(w);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const fieldError = (f: string) => at(f) && error ? <p class="field-error" id={`wl-${f}-error`}>{(error as Error).message}</p> : null;
  return (
    <form class="obs-form" onSubmit={submit} aria-label="New workload">
      <label class="field">
        Name
        <input name="name" value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)}
          placeholder="web" maxLength={128} aria-invalid={at('name')} aria-describedby={at('name') ? 'wl-name-error' : undefined} />
        {fieldError('name')}
      </label>
      <label class="field">
        Command
        <input name="command" class="mono" value={command} required onInput={(e) => setCommand((e.target as HTMLInputElement).value)}
          placeholder="python3 -m http.server 8080" aria-invalid={at('command')} aria-describedby={at('command') ? 'wl-command-error' : undefined} />
        {fieldError('command')}
      </label>
      <label class="field narrow">
        Restart
        <select name="restart_policy" value={policy} onChange={(e) => setPolicy((e.target as HTMLSelectElement).value as NewWorkload['restart_policy'])}>
          {POLICIES.map((p) => <option key={p} value={p}>{p}</option>)}
        </select>
      </label>
      <button type="submit" disabled={busy || !command.trim()}>{busy ? 'Creating…' : 'Create workload'}</button>
      {error && !at('name') && !at('command') ? <div class="obs-wide"><ErrorBox error={error} /></div> : null}
    </form>
  );
}
