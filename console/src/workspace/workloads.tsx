/**
 * The Workloads tab (control-plane.md §11): the workspace's workloads with their status
 * and live CPU / memory (one stream for all of them), a form to create one, start / stop /
 * restart (stop then start: the API has no restart route) and delete (asks first), and the
 * selected workload's live output in the shared log viewer. The list is read again every
 * 3 s while the workspace runs, and after every action.
 */
import { useRef, useState } from 'preact/hooks';
import { stateOf } from '../api/workspaces.js';
import {
  deleteWorkload, listWorkloads, restartWorkload, workloadPower, type Workload, type WorkloadStats,
} from '../api/workloads.js';
import { useConfirm } from '../components/confirm.js';
import { useAction } from '../components/use-action.js';
import { ErrorBox, ListStatus, StateBadge } from '../components/status.js';
import { useAsync, useInterval } from '../components/use-async.js';
import { megabytes } from '../obs/format.js';
import { workloadSource } from '../obs/log-sources.js';
import { LogViewer } from '../obs/log-viewer.js';
import { useStream } from '../obs/use-stream.js';
import { WorkloadForm } from '../obs/workload-form.js';
import type { TabProps } from './tab-props.js';
import '../obs/obs.css';

const ACTIVE = new Set(['running', 'starting', 'restarting', 'pending']);

/** Live stats of every workload: the latest event per workload id. */
function useWorkloadStats(id: string, live: boolean, any: boolean): Map<string, WorkloadStats> {
  const latest = useRef(new Map<string, WorkloadStats>());
  const [, setTick] = useState(0);
  const last = useRef(0);
  useStream(any ? `/workspace/${encodeURIComponent(id)}/workloads/stats/stream` : null, {
    live, follows: true, needsLive: true,
    onMessage: (d) => {
      const e = d as WorkloadStats;
      if (!e || typeof e.workload_id !== 'string') return;
      latest.current.set(e.workload_id, e);
      if (Date.now() - last.current > 900) { last.current = Date.now(); setTick((t) => t + 1); }
    },
  });
  return latest.current;
}

export function WorkloadsTab({ ws }: TabProps) {
  const running = stateOf(ws) === 'running';
  const list = useAsync((signal) => listWorkloads(ws.id, signal), [ws.id, running]);
  useInterval(() => { if (running) list.reload(); }, 3000);
  const [selected, setSelected] = useState<string | null>(null);
  const { busy, error, run } = useAction(() => list.reload());
  const { confirm, element } = useConfirm();
  const workloads = list.data ?? [];
  const stats = useWorkloadStats(ws.id, running, workloads.length > 0);
  const chosen = workloads.find((w) => w.id === selected) ?? null;

  const act = (w: Workload, label: string, fn: () => Promise<unknown>) => run(`${w.id}:${label}`, fn);
  const remove = async (w: Workload) => {
    if (!(await confirm(`Delete the workload ${w.name || w.id}? It is stopped and its definition removed.`, 'Delete'))) return;
    await act(w, 'delete', () => deleteWorkload(ws.id, w.id));
    if (selected === w.id) setSelected(null);
  };
  const rowProps = { busy, running, stats, selected, onSelect: setSelected, onRemove: remove,
    onAct: (w: Workload, a: 'start' | 'stop' | 'restart') =>
      act(w, a, () => (a === 'restart' ? restartWorkload(ws.id, w.id) : workloadPower(ws.id, w.id, a))) };

  return (
    <section aria-label="Workloads">
      <section class="card obs-section" aria-labelledby="wl-new">
        <h2 id="wl-new">New workload</h2>
        <WorkloadForm workspaceId={ws.id} onCreated={(w) => { list.reload(); setSelected(w.id); }} />
        {!running && <p class="obs-note">The workspace is not running: a new workload starts when it does.</p>}
      </section>
      <h2>Workloads</h2>
      <ErrorBox error={error} />
      <ListStatus state={list} loading="Loading the workloads…" isEmpty={workloads.length === 0} empty="No workloads yet." />
      {workloads.length > 0 && (
        <div class="table-wrap">
          <table>
            <thead><tr><th>Name</th><th>Status</th><th class="hide-narrow">Command</th><th class="hide-narrow">Usage</th><th>Actions</th></tr></thead>
            <tbody>{workloads.map((w) => <Row key={w.id} w={w} {...rowProps} />)}</tbody>
          </table>
        </div>
      )}
      {chosen && (
        <section class="obs-section" aria-label={`Output of ${chosen.name || chosen.id}`}>
          <h2>Output of {chosen.name || chosen.id}</h2>
          <WorkloadLogs workspaceId={ws.id} w={chosen} running={running} />
        </section>
      )}
      {element}
    </section>
  );
}

function WorkloadLogs(props: { workspaceId: string; w: Workload; running: boolean }) {
  const src = workloadSource(props.workspaceId, props.w);
  return <LogViewer key={src.key} path={src.path} live={props.running} follows label={`${src.label} output`} />;
}

interface RowProps {
  w: Workload;
  busy: string | null;
  running: boolean;
  stats: Map<string, WorkloadStats>;
  selected: string | null;
  onSelect: (id: string) => void;
  onAct: (w: Workload, a: 'start' | 'stop' | 'restart') => void;
  onRemove: (w: Workload) => void;
}

function Row({ w, busy, running, stats, selected, onSelect, onAct, onRemove }: RowProps) {
  const status = w.status ?? 'unknown';
  const active = ACTIVE.has(status);
  const s = stats.get(w.id);
  const name = w.name || w.id;
  const label = (a: string, text: string) => (busy === `${w.id}:${a}` ? `${text}…` : text);
  return (
    <tr class={selected === w.id ? 'selected' : undefined}>
      <td><strong>{name}</strong>{w.name && w.name !== w.id && <div class="muted mono">{w.id}</div>}</td>
      <td>
        <StateBadge state={status} />
        {w.exit_code !== null && w.exit_code !== undefined && !active && <div class="muted">exit {w.exit_code}</div>}
        {w.error && <div class="field-error">{w.error}</div>}
      </td>
      <td class="hide-narrow"><code>{w.command ?? w.cmd?.join(' ')}</code></td>
      <td class="hide-narrow">{s && active ? `${(s.cpu_usage ?? 0).toFixed(1)} % · ${megabytes(s.memory_mb)}` : '—'}</td>
      <td>
        <div class="obs-actions" role="group" aria-label={`Actions for ${name}`}>
          <button type="button" class="secondary" aria-pressed={selected === w.id} onClick={() => onSelect(w.id)}>Logs</button>
          {active
            ? <button type="button" class="secondary" disabled={!running || busy !== null} onClick={() => onAct(w, 'stop')}>{label('stop', 'Stop')}</button>
            : <button type="button" class="secondary" disabled={!running || busy !== null} onClick={() => onAct(w, 'start')}>{label('start', 'Start')}</button>}
          <button type="button" class="secondary" disabled={!running || busy !== null} onClick={() => onAct(w, 'restart')}>{label('restart', 'Restart')}</button>
          <button type="button" class="danger" disabled={busy !== null} onClick={() => onRemove(w)}>{label('delete', 'Delete')}</button>
        </div>
      </td>
    </tr>
  );
}
