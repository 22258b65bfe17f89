/**
 * The workspace's key facts from the workspace object itself (no extra request): state
 * (with the provisioning phase while it is created), image, IP, mode, resources, uptime,
 * namespace, created.
 */
import { stateOf, type Workspace } from '../api/workspaces.js';
import { StateBadge } from '../components/status.js';
import { provisioningText } from '../create/provision-watch.js';
import { formatDate, formatDuration, formatResources } from './overview-format.js';

export function Facts(props: { ws: Workspace }) {
  const { ws } = props;
  const state = stateOf(ws);
  const provisioning = provisioningText(ws);
  const live = state === 'running' || state === 'paused';
  return (
    <section class="card ov-card" aria-labelledby="ov-facts">
      <h2 id="ov-facts">Facts</h2>
      <dl class="facts">
        <dt>State</dt>
        <dd>
          <StateBadge state={state} />
          {provisioning && <span class="ov-provisioning" role="status"> Provisioning — {provisioning}</span>}
        </dd>
        <dt>Id</dt><dd class="mono">{ws.id}</dd>
        <dt>Image</dt><dd>{ws.image ?? '—'}</dd>
        <dt>IP</dt><dd class="mono">{ws.ip || '—'}</dd>
        <dt>Mode</dt><dd>{ws.mode ?? '—'}</dd>
        <dt>Resources</dt><dd>{formatResources(ws.resources)}</dd>
        <dt>Uptime</dt><dd>{live ? formatDuration(ws.uptime) : '—'}</dd>
        <dt>Namespace</dt><dd>{ws.namespace || <span class="muted">none</span>}</dd>
        <dt>Created</dt><dd>{formatDate(ws.created_at)}</dd>
      </dl>
    </section>
  );
}
