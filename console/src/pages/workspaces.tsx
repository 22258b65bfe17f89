/** The workspace list. (Sparklines, filter and search: see the workspace-list work.) */
import { listWorkspaces, stateOf } from '../api/workspaces.js';
import { Link } from '../components/link.js';
import { Empty, ErrorBox, Loading, StateBadge } from '../components/status.js';
import { useAsync } from '../components/use-async.js';

export function WorkspaceList() {
  const list = useAsync((signal) => listWorkspaces(signal), []);
  if (list.loading && !list.data) return <Loading label="Loading workspaces…" />;
  return (
    <section>
      <h1>Workspaces</h1>
      <ErrorBox error={list.error} retry={list.reload} />
      {list.data?.length === 0 && <Empty>No workspaces yet. <Link to="/console/new">Create one</Link></Empty>}
      <ul class="ws-list">
        {list.data?.map((ws) => (
          <li key={ws.id}><Link to={{ name: 'workspace', id: ws.id, tab: 'overview' }}>{ws.name || ws.id}</Link> <StateBadge state={stateOf(ws)} /></li>
        ))}
      </ul>
    </section>
  );
}
