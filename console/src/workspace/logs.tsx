/**
 * The Logs tab: one live log view with a source selector — the boot log (Warren's
 * provisioning steps; its stream ends once the boot is done), the command log (follows
 * while the workspace runs) and each workload's output (control-plane.md §11, §14).
 * Switching source starts a fresh view; the workload list is read when the tab opens
 * and again on demand.
 */
import { useState } from 'preact/hooks';
import { stateOf } from '../api/workspaces.js';
import { listWorkloads } from '../api/workloads.js';
import { useAsync } from '../components/use-async.js';
import { LogViewer } from '../obs/log-viewer.js';
import { logSources, type LogSource } from '../obs/log-sources.js';
import type { TabProps } from './tab-props.js';
import '../obs/obs.css';

export function LogsTab({ ws }: TabProps) {
  const running = stateOf(ws) === 'running';
  const workloads = useAsync((signal) => (running ? listWorkloads(ws.id, signal) : Promise.resolve([])), [ws.id, running]);
  const sources = logSources(ws.id, workloads.data ?? []);
  const [key, setKey] = useState('cmd');
  const source: LogSource = sources.find((s) => s.key === key) ?? sources[1]!;

  return (
    <section aria-label="Logs">
      <div class="obs-bar">
        <label for="log-source">Source</label>
        <select id="log-source" class="obs-select" value={source.key}
          onChange={(e) => setKey((e.target as HTMLSelectElement).value)}>
          {sources.map((s) => <option key={s.key} value={s.key}>{s.label}</option>)}
        </select>
        <button type="button" class="secondary" onClick={workloads.reload} disabled={!running}>Refresh workloads</button>
      </div>
      <LogViewer key={`${ws.id}:${source.key}`} path={source.path} live={running} follows={source.follows}
        label={`${source.label} output`} endedText={source.follows ? undefined : 'End of the boot log.'} />
    </section>
  );
}
