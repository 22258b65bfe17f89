/**
 * Forks (Warren's extension of control-plane.md §10): fork this workspace (a name and how
 * many, 1–10; each fork starts from a copy-on-write snapshot taken now) with links to the
 * new workspaces, the workspace this one was forked from (its config's `forked_from`), and
 * the forks made of it (from its `forked` activity), each with its current state or
 * "deleted". Forking needs an admin or namespace credential; the API's refusal is shown.
 */
import { useState } from 'preact/hooks';
import { activityOf, fork, forkedFrom } from '../api/layers.js';
import { ApiError } from '../api/errors.js';
import { getWorkspace, stateOf, type Workspace } from '../api/workspaces.js';
import { Link } from '../components/link.js';
import { ErrorBox, ListStatus, StateBadge } from '../components/status.js';
import { useAsync } from '../components/use-async.js';
import type { TabProps } from '../workspace/tab-props.js';
import { useAction } from '../components/use-action.js';

/** `ws`: the fork now; `gone`: the API says it no longer exists (null ws otherwise: not readable here). */
interface ForkRow { id: string; ws: Workspace | null; gone: boolean }

async function loadForks(id: string, signal: AbortSignal): Promise<{ parent: string | null; forks: ForkRow[] }> {
  const [parent, entries] = await Promise.all([forkedFrom(id, signal).catch(() => null), activityOf(id, 'forked', signal, 50)]);
  const ids = [...new Set(entries.flatMap((e) => (Array.isArray(e.details?.forks) ? e.details.forks as string[] : [])))].slice(0, 30);
  const forks = await Promise.all(ids.map((fid) => getWorkspace(fid, signal).then(
    (w): ForkRow => ({ id: fid, ws: w, gone: false }),
    (err): ForkRow => ({ id: fid, ws: null, gone: err instanceof ApiError && err.status === 404 }),
  )));
  return { parent, forks };
}

const wsLink = (id: string, label?: string) => <Link to={{ name: 'workspace', id, tab: 'overview' }}>{label || id}</Link>;

export function ForksSection({ ws }: TabProps) {
  const data = useAsync((signal) => loadForks(ws.id, signal), [ws.id]);
  const action = useAction(() => data.reload());
  const [name, setName] = useState('');
  const [count, setCount] = useState(1);
  const [made, setMade] = useState<Workspace[]>([]);

  const submit = async (e: Event) => {
    e.preventDefault();
    setMade([]);
    const forks = await action.run('fork', () => fork(ws.id, { name, count }));
    if (forks) setMade(forks);
  };

  return (
    <section class="card obs-section" aria-labelledby="fork-title">
      <h2 id="fork-title">Forks</h2>
      <form class="obs-form" onSubmit={submit} aria-label="Fork this workspace">
        <label class="field">
          <span>Name <span class="hint">(optional)</span></span>
          <input name="fork-name" value={name} maxLength={240} placeholder={`${ws.name || ws.id}-fork-1`}
            onInput={(e) => setName((e.target as HTMLInputElement).value)} />
        </label>
        <label class="field narrow">
          How many
          <input name="fork-count" type="number" min={1} max={10} value={count}
            onInput={(e) => setCount(Number((e.target as HTMLInputElement).value) || 1)} />
        </label>
        <button type="submit" disabled={action.busy !== null}>{action.busy ? 'Forking…' : 'Fork'}</button>
      </form>
      <ErrorBox error={action.error} />
      {made.length > 0 && (
        <p class="obs-ok" role="status">
          Forked: {made.map((w, i) => <span key={w.id}>{i > 0 && ', '}{wsLink(w.id, w.name)}</span>)}
        </p>
      )}
      {data.data?.parent && <p>Forked from {wsLink(data.data.parent)}.</p>}
      <ListStatus state={data} loading="Loading the forks…" isEmpty={data.data?.forks.length === 0} empty="No forks of this workspace." />
      {data.data && data.data.forks.length > 0 && (
        <ul class="obs-list" aria-label="Forks of this workspace">
          {data.data.forks.map((f) => (
            <li key={f.id}>
              {f.ws ? <>{wsLink(f.id, f.ws.name)} <StateBadge state={stateOf(f.ws)} /></> : <><code>{f.id}</code> <span class="muted">{f.gone ? 'deleted' : 'not readable with this credential'}</span></>}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
