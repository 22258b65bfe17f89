/**
 * The Snapshots tab (control-plane.md §10 and Warren's fork): the snapshot — take one
 * (then keep running, pause or stop), restore the latest (asks first) and the history of
 * the snapshots taken — then the archives (obs/archives-section.tsx) and forks
 * (obs/forks-section.tsx). The API keeps one snapshot per workspace (the newest, which
 * restore uses) and lists none, so the history comes from the workspace's activity.
 */
import { useState } from 'preact/hooks';
import { activityOf, lifecycleInfo, restore, takeSnapshot, type Snapshot, type SnapshotAfter } from '../api/layers.js';
import { useConfirm } from '../components/confirm.js';
import { ErrorBox, ListStatus } from '../components/status.js';
import { useAsync } from '../components/use-async.js';
import { ArchivesSection } from '../obs/archives-section.js';
import { bytes, when } from '../obs/format.js';
import { ForksSection } from '../obs/forks-section.js';
import { useAction } from '../components/use-action.js';
import type { TabProps } from './tab-props.js';
import '../obs/obs.css';

const AFTER: { value: SnapshotAfter; label: string }[] = [
  { value: 'resume', label: 'Keep running' },
  { value: 'paused', label: 'Pause' },
  { value: 'stop', label: 'Stop' },
];

export function SnapshotsTab(props: TabProps) {
  const caps = useAsync((signal) => lifecycleInfo(props.ws.id, signal), [props.ws.id]);
  return (
    <div>
      {caps.error && <ErrorBox error={caps.error} retry={caps.reload} />}
      {caps.data && caps.data.snapshot_supported === false
        ? <p class="notice">Snapshots are not available: {caps.data.snapshot_unavailable_reason ?? 'the driver cannot take them'}.</p>
        : <SnapshotSection {...props} />}
      <ArchivesSection {...props} />
      <ForksSection {...props} />
    </div>
  );
}

function SnapshotSection({ ws, refresh }: TabProps) {
  const history = useAsync((signal) => activityOf(ws.id, 'snapshot', signal), [ws.id]);
  const action = useAction(() => { history.reload(); refresh(); });
  const { confirm, element } = useConfirm();
  const [after, setAfter] = useState<SnapshotAfter>('resume');
  const [taken, setTaken] = useState<Snapshot | null>(null);

  const take = async () => {
    setTaken(null);
    const s = await action.run('take', () => takeSnapshot(ws.id, after));
    if (s) setTaken(s);
  };
  const restoreLatest = async () => {
    if (!(await confirm('Restore the latest snapshot? Files changed since it was taken are lost; running processes restart.', 'Restore'))) return;
    await action.run('restore', () => restore(ws.id));
  };
  const entries = history.data ?? [];

  return (
    <section class="card obs-section" aria-labelledby="snap-title">
      <h2 id="snap-title">Snapshot</h2>
      <div class="obs-form">
        <label class="field narrow">
          Then
          <select value={after} onChange={(e) => setAfter((e.target as HTMLSelectElement).value as SnapshotAfter)}>
            {AFTER.map((a) => <option key={a.value} value={a.value}>{a.label}</option>)}
          </select>
        </label>
        <button type="button" disabled={action.busy !== null} onClick={take}>{action.busy === 'take' ? 'Taking…' : 'Take snapshot'}</button>
        <button type="button" class="danger" disabled={action.busy !== null} onClick={restoreLatest}>
          {action.busy === 'restore' ? 'Restoring…' : 'Restore latest'}
        </button>
      </div>
      <p class="obs-note">Warren keeps the newest snapshot of a workspace; taking one replaces the previous one.</p>
      {taken && <p class="obs-ok" role="status">Snapshot taken ({bytes(taken.bytes)}, frozen {Math.round(taken.frozen_ms ?? 0)} ms).</p>}
      <ErrorBox error={action.error} />
      <h3>Snapshots taken</h3>
      <ListStatus state={history} loading="Loading the snapshots…" isEmpty={entries.length === 0} empty="No snapshot yet." />
      {entries.length > 0 && (
        <div class="table-wrap">
          <table aria-label="Snapshots taken">
            <thead><tr><th>Taken</th><th>Size</th><th class="hide-narrow">Frozen</th><th class="hide-narrow">Id</th><th /></tr></thead>
            <tbody>
              {entries.map((a, i) => (
                <tr key={a.id}>
                  <td>{when(a.at)}</td>
                  <td>{bytes(a.details?.bytes as number | undefined)}</td>
                  <td class="hide-narrow">{typeof a.details?.frozen_ms === 'number' ? `${Math.round(a.details.frozen_ms)} ms` : '—'}</td>
                  <td class="hide-narrow"><code>{String(a.details?.snapshot_id ?? '')}</code></td>
                  <td>{i === 0 ? <span class="badge">latest · restorable</span> : <span class="muted">replaced</span>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {element}
    </section>
  );
}
