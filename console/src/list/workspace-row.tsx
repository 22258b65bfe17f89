/**
 * One workspace of the list: a table row at desktop widths, a card at narrow widths (the
 * same markup; list.css lays each cell out as "label: value" using `data-label`). The
 * sparklines show only for running workspaces; `rowRef` lets the list know the row is on
 * screen.
 */
import { stateOf, type Workspace } from '../api/workspaces.js';
import { Link } from '../components/link.js';
import { StateBadge } from '../components/status.js';
import { Sparkline } from './sparkline.js';
import type { Series } from './stats-history.js';

export function formatCreated(iso: string | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleDateString(undefined, { year: 'numeric', month: 'short', day: 'numeric' });
}

function Usage(props: { running: boolean; values: number[] | undefined; label: string; kind: 'cpu' | 'mem' }) {
  if (!props.running) return <span class="muted" aria-label={`${props.label}: not running`}>—</span>;
  return <Sparkline values={props.values ?? []} label={props.label} kind={props.kind} />;
}

export function WorkspaceRow(props: { ws: Workspace; series: Series | undefined; rowRef: (el: Element | null) => void }) {
  const { ws } = props;
  const state = stateOf(ws);
  const running = state === 'running';
  return (
    <tr ref={props.rowRef} data-id={ws.id}>
      <td class="ws-name" data-label="Name">
        <Link to={{ name: 'workspace', id: ws.id, tab: 'overview' }}>{ws.name || ws.id}</Link>
        {ws.name && <span class="ws-id mono muted">{ws.id}</span>}
      </td>
      <td data-label="State"><StateBadge state={state} /></td>
      <td data-label="Image" class="ws-image">{ws.image ?? '—'}</td>
      <td data-label="IP" class="mono">{ws.ip || '—'}</td>
      <td data-label="CPU"><Usage running={running} values={props.series?.cpu} label="CPU" kind="cpu" /></td>
      <td data-label="Memory"><Usage running={running} values={props.series?.mem} label="Memory" kind="mem" /></td>
      <td data-label="Created">
        <time dateTime={ws.created_at} title={ws.created_at ? new Date(ws.created_at).toLocaleString() : undefined}>{formatCreated(ws.created_at)}</time>
      </td>
    </tr>
  );
}
