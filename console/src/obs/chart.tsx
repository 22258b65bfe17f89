/**
 * One live time-series chart on uPlot (loaded only with the Monitor tab's chunk): a
 * heading, the latest value as text in an `<output>` whose accessible name is `valueName`
 * (tests and screen readers read it; it is not announced on every tick), and the canvas,
 * which follows its container's width (ResizeObserver). Colours come from the console's
 * CSS variables when the chart is made. `data-points` on the figure is the number of
 * samples drawn.
 */
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export type Tone = 'accent' | 'ok' | 'warn' | 'danger';

export interface ChartProps {
  id: string;
  title: string;
  valueName: string;
  valueText: string;
  note?: string;
  xs: number[];
  ys: (number | null)[][];
  series: { label: string; tone: Tone }[];
  format: (v: number) => string;
  /** The y axis reaches at least this (the limit: 100 % per core, the memory size, …). */
  yMax?: number;
  points: number;
}

const HEIGHT = 170;
const MIN_SPAN_S = 60;

function cssVar(name: string, fallback: string): string {
  const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return v || fallback;
}

function options(p: ChartProps, width: number, yMax: { current: number | undefined }): uPlot.Options {
  const muted = cssVar('--muted', '#5b6470');
  const line = cssVar('--line', '#d9dde3');
  const axis = (values: uPlot.Axis['values']): uPlot.Axis => ({
    stroke: muted, grid: { stroke: line, width: 1 }, ticks: { stroke: line, width: 1 }, values, font: '11px system-ui, sans-serif',
  });
  return {
    width,
    height: HEIGHT,
    legend: { show: false },
    cursor: { drag: { x: false, y: false } },
    scales: {
      // At least the last minute, growing to the whole window as points arrive.
      x: { time: true, range: (_u, min, max) => (Number.isFinite(max) ? [Math.min(min, max - MIN_SPAN_S), max] : [min, max]) },
      y: { range: (_u, _min, max) => [0, Math.max(max || 0, yMax.current ?? 0, 1e-9) * 1.05] },
    },
    axes: [axis(undefined), { ...axis((_u, splits) => splits.map((v) => p.format(v))), size: 70 }],
    series: [
      {},
      ...p.series.map((s) => ({
        label: s.label,
        stroke: cssVar(`--${s.tone}`, '#2158d6'),
        width: 1.5,
        spanGaps: false,
        points: { show: false },
        value: (_u: uPlot, v: number | null) => (v === null ? '—' : p.format(v)),
      })),
    ],
  };
}

export function Chart(p: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const yMax = useRef(p.yMax);
  yMax.current = p.yMax;
  const data = [p.xs, ...p.ys] as uPlot.AlignedData;

  useEffect(() => {
    const el = box.current;
    if (!el) return undefined;
    const u = new uPlot(options(p, Math.max(200, el.clientWidth), yMax), data, el);
    plot.current = u;
    const ro = new ResizeObserver(() => {
      const w = el.clientWidth;
      if (w > 0 && Math.abs(w - u.width) > 1) u.setSize({ width: w, height: HEIGHT });
    });
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.destroy();
      plot.current = null;
    };
  }, []);

  useEffect(() => {
    plot.current?.setData(data);
  });

  const headingId = `chart-${p.id}-title`;
  return (
    <figure class="chart card" data-chart={p.id} data-points={p.points} aria-labelledby={headingId}>
      <figcaption class="chart-head">
        <h3 id={headingId}>{p.title}</h3>
        <output class="chart-value" aria-label={p.valueName} aria-live="off">{p.valueText}</output>
      </figcaption>
      {p.note && <p class="chart-note">{p.note}</p>}
      <div class="chart-canvas" ref={box} aria-hidden="true" />
    </figure>
  );
}
