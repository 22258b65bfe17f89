/**
 * Progress of a workspace being provisioned, polled every second (`GET /workspace/:id`):
 * its state and, while it is created, the provisioning phase and message.
 */
import { getWorkspace, stateOf, type Workspace } from '../api/workspaces.js';
import { StateBadge } from '../components/status.js';
import { useAsync, useInterval } from '../components/use-async.js';

/** "preparing: Provisioning the workspace", or null when the workspace is not being provisioned. */
export function provisioningText(ws: Workspace): string | null {
  const p = ws.provisioning;
  if (!p) return null;
  const phase = p.phase ?? p.state ?? '';
  const msg = p.error?.message ?? p.message ?? '';
  return [phase, msg].filter(Boolean).join(': ') || null;
}

export function ProvisionWatch(props: { id: string }) {
  const ws = useAsync((signal) => getWorkspace(props.id, signal), [props.id]);
  useInterval(ws.reload, 1000);
  const data = ws.data;
  return (
    <p class="provisioning-note muted" role="status" aria-live="polite">
      {data ? <>The workspace is <StateBadge state={stateOf(data)} /> {provisioningText(data) ?? ''}</> : 'Waiting for the workspace…'}
    </p>
  );
}
