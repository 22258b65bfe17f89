/**
 * The workspace list: every workspace the credential may see (a namespace token sees its
 * namespace's only — the API filters), refreshed every few seconds in place (the rows stay
 * while a reload runs, so nothing flickers), with a state filter, a search over name, id and
 * image, the count, and CPU/memory sparklines of the running ones on screen (list/stats-history.ts).
 * Loading, error (with the previous rows kept) and empty states.
 */
import { useMemo, useState } from 'preact/hooks';
import { listWorkspaces, stateOf } from '../api/workspaces.js';
import { Link } from '../components/link.js';
import { Empty, ErrorBox, Loading } from '../components/status.js';
import { useAsync, useInterval } from '../components/use-async.js';
import { ALL, countLabel, filterWorkspaces, stateOptions, type ListFilter } from '../list/filter.js';
import { useStatsHistory } from '../list/stats-history.js';
import { useVisibleRows } from '../list/visible-rows.js';
import { WorkspaceRow } from '../list/workspace-row.js';
import '../list/list.css';

export const LIST_REFRESH_MS = 4000;

function Filters(props: { filter: ListFilter; states: string[]; onChange: (f: ListFilter) => void }) {
  const { filter, onChange } = props;
  return (
    <div class="list-tools" role="search">
      <label class="field">State
        <select value={filter.state} onChange={(e) => onChange({ ...filter, state: e.currentTarget.value })}>
          {props.states.map((s) => <option key={s} value={s}>{s === ALL ? 'All states' : s}</option>)}
        </select>
      </label>
      <label class="field search">Search
        <input type="search" placeholder="Name, id or image" value={filter.query}
          onInput={(e) => onChange({ ...filter, query: e.currentTarget.value })} />
      </label>
    </div>
  );
}

export function WorkspaceList() {
  const list = useAsync((signal) => listWorkspaces(signal), []);
  useInterval(list.reload, LIST_REFRESH_MS);
  const [filter, setFilter] = useState<ListFilter>({ state: ALL, query: '' });
  const all = list.data ?? [];
  const shown = useMemo(() => filterWorkspaces(all, filter), [all, filter]);
  const running = shown.filter((ws) => stateOf(ws) === 'running').map((ws) => ws.id);
  const rows = useVisibleRows();
  const history = useStatsHistory(running, rows.visible);

  const head = (
    <div class="list-head">
      <h1>Workspaces</h1>
      <Link to="/console/new" class="button">Create workspace</Link>
    </div>
  );
  if (!list.data) {
    return <section>{head}{list.error ? <ErrorBox error={list.error} retry={list.reload} /> : <Loading label="Loading workspaces…" />}</section>;
  }
  return (
    <section>
      {head}
      <ErrorBox error={list.error} retry={list.reload} />
      {all.length === 0 ? <Empty>No workspaces yet. <Link to="/console/new">Create one</Link>.</Empty> : (
        <>
          <Filters filter={filter} states={stateOptions(all, filter.state)} onChange={setFilter} />
          <p class="list-count muted" aria-live="polite">{countLabel(shown.length, all.length)}</p>
          {shown.length === 0
            ? <Empty>Nothing matches this filter. <button type="button" class="secondary" onClick={() => setFilter({ state: ALL, query: '' })}>Clear the filter</button></Empty>
            : (
              <div class="table-wrap ws-table-wrap">
                <table class="ws-table">
                  <thead>
                    <tr><th scope="col">Name</th><th scope="col">State</th><th scope="col">Image</th><th scope="col">IP</th>
                      <th scope="col">CPU</th><th scope="col">Memory</th><th scope="col">Created</th></tr>
                  </thead>
                  <tbody>
                    {shown.map((ws) => <WorkspaceRow key={ws.id} ws={ws} series={history.get(ws.id)} rowRef={rows.track(ws.id)} />)}
                  </tbody>
                </table>
              </div>
            )}
        </>
      )}
    </section>
  );
}
