/**
 * The Monitor tab (loaded lazily; uPlot lives in this chunk only): live CPU, memory, disk
 * and network charts over a 15-minute window from `GET /workspace/:id/stats/stream`
 * (1 s ticks), first filled with the one event `GET /workspace/:id/stats` gives. The
 * stream ends when the workspace stops (shown as a gap and a notice); it is opened again
 * when the workspace runs again. A workspace's window is kept for the page's life, so
 * switching tabs does not lose the last 15 minutes (the time away is a gap).
 */
import { useEffect, useState } from 'preact/hooks';
import { getStats, statsStreamPath, type StatsEvent } from '../api/stats.js';
import { stateOf } from '../api/workspaces.js';
import { ErrorBox } from '../components/status.js';
import { Chart } from '../obs/chart.js';
import { megabytes, rate } from '../obs/format.js';
import { StatsSeries } from '../obs/stats-series.js';
import type { StreamPhase } from '../obs/stream-policy.js';
import { useStream } from '../obs/use-stream.js';
import type { TabProps } from './tab-props.js';
import '../obs/monitor.css';

const kept = new Map<string, StatsSeries>();

/** The window of one workspace (the four most recent are kept). */
function seriesOf(id: string): StatsSeries {
  let s = kept.get(id);
  if (!s) {
    s = new StatsSeries();
    kept.set(id, s);
    if (kept.size > 4) kept.delete(kept.keys().next().value!);
  }
  return s;
}

function statusText(phase: StreamPhase, state: string, stopped: boolean): string {
  if (phase === 'open') return stopped ? 'The workspace stopped.' : 'Live, every second.';
  if (phase === 'waiting') return `The workspace is ${state}; the charts continue when it runs again.`;
  if (phase === 'reconnecting') return stopped ? 'The workspace stopped; waiting for it to run again…' : 'Connection lost; reconnecting…';
  if (phase === 'connecting' || phase === 'idle') return 'Connecting…';
  return '';
}

export default function MonitorTab({ ws }: TabProps) {
  const state = stateOf(ws);
  const live = state === 'running' || state === 'paused';
  const series = seriesOf(ws.id);
  const [, setTick] = useState(0);
  const take = (ev: unknown) => {
    if (ev && typeof ev === 'object' && series.add(ev as StatsEvent)) setTick((t) => t + 1);
  };

  useEffect(() => {
    if (!live) return undefined;
    const ctl = new AbortController();
    getStats(ws.id, ctl.signal).then(take, () => undefined); // the stream reports its own errors
    return () => ctl.abort();
  }, [ws.id, live]);

  const stream = useStream(statsStreamPath(ws.id), { live, follows: true, needsLive: true, onMessage: take });
  const stopped = series.latest?.state === 'stopped';
  return (
    <section aria-label="Monitor">
      <p class={`monitor-status ${stream.phase}`} role="status">
        <span class="dot" aria-hidden="true" />{statusText(stream.phase, state, stopped)}
      </p>
      <ErrorBox error={stream.error} retry={stream.retry} />
      <Charts series={series} cpus={ws.resources?.cpus} />
    </section>
  );
}

function Charts({ series, cpus }: { series: StatsSeries; cpus: number | undefined }) {
  const [xs, cpu, mem, disk, rx, tx] = series.data();
  const now = series.current();
  const ev = series.latest;
  const points = series.samples;
  const pct = (v: number) => `${+v.toFixed(1)} %`;
  const of = (used: number | null | undefined, total: number | undefined) =>
    `${megabytes(used)}${total ? ` of ${megabytes(total)}` : ''}`;
  return (
    <div class="charts">
      <Chart id="cpu" title="CPU" valueName="CPU now" points={points}
        valueText={now ? `CPU ${now.cpu!.toFixed(1)} %` : 'CPU —'}
        note={`100 % is one core${cpus ? `; this workspace has ${cpus}` : ''}`}
        xs={xs} ys={[cpu]} series={[{ label: 'CPU', tone: 'accent' }]} format={pct} yMax={100} />
      <Chart id="memory" title="Memory" valueName="Memory now" points={points}
        valueText={now ? `Memory ${of(now.mem, ev?.memory_total_mb)}` : 'Memory —'}
        xs={xs} ys={[mem]} series={[{ label: 'Memory', tone: 'ok' }]} format={megabytes} yMax={ev?.memory_total_mb} />
      <Chart id="disk" title="Disk" valueName="Disk now" points={points}
        valueText={now ? `Disk ${of(now.disk, ev?.disk_total_mb)}` : 'Disk —'}
        xs={xs} ys={[disk]} series={[{ label: 'Disk', tone: 'warn' }]} format={megabytes} yMax={ev?.disk_total_mb} />
      <Chart id="network" title="Network" valueName="Network now" points={points}
        valueText={now ? `In ${rate(now.rx)} · out ${rate(now.tx)}` : 'Network —'}
        note="Received (in, blue) and sent (out, red) by the workspace"
        xs={xs} ys={[rx, tx]} series={[{ label: 'In', tone: 'accent' }, { label: 'Out', tone: 'danger' }]} format={rate} />
    </div>
  );
}
