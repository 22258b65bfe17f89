/**
 * Lifecycle and restart information (`GET /workspace/:id/lifecycle`): the restart policy and
 * what it did (restarts made, the last exit, the next restart due), the TTL of a temporary
 * workspace and when it runs out, the idle policy and whether the workspace sleeps.
 * Reloaded whenever the workspace's state or record changes.
 */
import { getLifecycle, type LifecycleStatus } from '../api/lifecycle-status.js';
import { stateOf, type Workspace } from '../api/workspaces.js';
import { ErrorBox, Loading } from '../components/status.js';
import { useAsync } from '../components/use-async.js';
import { formatDate, formatDuration } from './overview-format.js';

function lastExit(l: LifecycleStatus): string {
  const r = l.restart_info;
  if (!r || (r.last_exit_code === null && !r.last_exit_reason)) return 'none recorded';
  const code = r.last_exit_code === null ? '' : `code ${r.last_exit_code}`;
  const reason = r.last_exit_reason ? ` (${r.last_exit_reason})` : '';
  const at = r.last_exit_at ? `, ${formatDate(r.last_exit_at)}` : '';
  return `${code}${reason}${at}`.trim();
}

function Rows(props: { l: LifecycleStatus }) {
  const { l } = props;
  const r = l.restart_info;
  const maxRestarts = l.max_restarts ? ` (at most ${l.max_restarts})` : '';
  return (
    <dl class="facts">
      <dt>Restart policy</dt><dd>{l.restart_policy ?? '—'}{maxRestarts}</dd>
      <dt>Restarts by the policy</dt><dd>{r?.count ?? 0}</dd>
      <dt>Last exit</dt><dd>{lastExit(l)}</dd>
      {r?.last_restart_at && <><dt>Last restart</dt><dd>{formatDate(r.last_restart_at)}</dd></>}
      {r?.next_restart_at && <><dt>Next restart</dt><dd>{formatDate(r.next_restart_at)}</dd></>}
      {l.mode === 'temporary' && (
        <>
          <dt>TTL</dt><dd>{l.ttl ? `${formatDuration(l.ttl)}, then ${l.ttl_action ?? 'stop'}` : 'none'}</dd>
          <dt>Expires</dt><dd>{formatDate(l.expires_at)}</dd>
        </>
      )}
      <dt>Idle policy</dt>
      <dd>{l.idle ? `sleep after ${formatDuration(l.idle.suspend_after)}${l.idle.stop_after ? `, stop after ${formatDuration(l.idle.stop_after)}` : ''}` : 'off'}</dd>
      {l.sleeping && <><dt>Sleeping</dt><dd>since {formatDate(l.asleep_since)}</dd></>}
    </dl>
  );
}

export function LifecycleCard(props: { ws: Workspace }) {
  const state = stateOf(props.ws);
  const lc = useAsync((signal) => getLifecycle(props.ws.id, signal), [props.ws.id, state, props.ws.updated_at]);
  return (
    <section class="card ov-card" aria-labelledby="ov-lifecycle">
      <h2 id="ov-lifecycle">Lifecycle</h2>
      {lc.data ? <Rows l={lc.data} /> : !lc.error && <Loading label="Loading the lifecycle…" />}
      <ErrorBox error={lc.error} retry={lc.reload} />
    </section>
  );
}
