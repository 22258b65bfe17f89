/**
 * One workspace: a header with its state and power actions, then one tab per concern. Each
 * tab is its own module under src/workspace/; the heavy ones (terminal, monitor) load lazily.
 */
import type { JSX } from 'preact';
import { getWorkspace, stateOf } from '../api/workspaces.js';
import { lazy } from '../components/lazy.js';
import { Link } from '../components/link.js';
import { ErrorBox, Loading, StateBadge } from '../components/status.js';
import { useAsync, useInterval } from '../components/use-async.js';
import { WORKSPACE_TABS, type WorkspaceTab } from '../router.js';
import { PowerBar } from '../workspace/power-bar.js';
import type { TabProps } from '../workspace/tab-props.js';
import { Overview } from '../workspace/overview.js';
import { FilesTab } from '../workspace/files.js';
import { LogsTab } from '../workspace/logs.js';
import { SnapshotsTab } from '../workspace/snapshots.js';
import { WorkloadsTab } from '../workspace/workloads.js';
import { NetworkTab } from '../workspace/network.js';

const TerminalTab = lazy(() => import('../workspace/terminal.js'), 'Loading the terminal…');
const MonitorTab = lazy(() => import('../workspace/monitor.js'), 'Loading the charts…');



const LABELS: Record<WorkspaceTab, string> = {
  overview: 'Overview', terminal: 'Terminal', files: 'Files', logs: 'Logs', monitor: 'Monitor',
  snapshots: 'Snapshots', workloads: 'Workloads', network: 'Network',
};

const TABS: Record<WorkspaceTab, (p: TabProps) => JSX.Element> = {
  overview: Overview, terminal: TerminalTab, files: FilesTab, logs: LogsTab, monitor: MonitorTab,
  snapshots: SnapshotsTab, workloads: WorkloadsTab, network: NetworkTab,
};

export function WorkspacePage(props: { id: string; tab: WorkspaceTab }) {
  const ws = useAsync((signal) => getWorkspace(props.id, signal), [props.id]);
  useInterval(ws.reload, 5000);
  if (!ws.data) return ws.error ? <ErrorBox error={ws.error} retry={ws.reload} /> : <Loading label="Loading the workspace…" />;
  const Tab = TABS[props.tab];
  return (
    <section class="workspace">
      <div class="ws-head">
        <h1>{ws.data.name || ws.data.id}</h1>
        <StateBadge state={stateOf(ws.data)} />
        <PowerBar ws={ws.data} refresh={ws.reload} />
      </div>
      {ws.error && <ErrorBox error={ws.error} retry={ws.reload} />}
      <nav class="tabs" aria-label="Workspace sections">
        {WORKSPACE_TABS.map((t) => (
          <Link key={t} to={{ name: 'workspace', id: props.id, tab: t }} aria-current={t === props.tab ? 'page' : undefined}>{LABELS[t]}</Link>
        ))}
      </nav>
      <div class="tab-body">
        <Tab ws={ws.data} refresh={ws.reload} />
      </div>
    </section>
  );
}
