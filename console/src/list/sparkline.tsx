/**
 * A small inline SVG sparkline (no chart library in the first load). Values are percents
 * (0–100, clamped); the newest point sits at the right edge and points are spaced for
 * `capacity` samples, so the line grows leftwards as history fills. The latest value is
 * shown as text beside it and read by screen readers through the label.
 */
export interface SparkSize {
  width: number;
  height: number;
  capacity: number;
}

export const SPARK: SparkSize = { width: 80, height: 22, capacity: 30 };

const clamp = (v: number) => Math.min(100, Math.max(0, Number.isFinite(v) ? v : 0));
const r1 = (n: number) => Math.round(n * 10) / 10;

/** The SVG path of `values` (oldest first); '' when there is none. */
export function sparkPath(values: number[], size: SparkSize = SPARK): string {
  const pts = values.slice(-size.capacity);
  if (pts.length === 0) return '';
  const step = size.width / Math.max(1, size.capacity - 1);
  const pad = 1;
  const y = (v: number) => r1(pad + (size.height - 2 * pad) * (1 - clamp(v) / 100));
  const start = size.width - step * (pts.length - 1);
  const coords = pts.map((v, i) => `${r1(start + step * i)},${y(v)}`);
  // One sample: a short flat stroke at the right edge, so it is visible.
  if (coords.length === 1) return `M${r1(size.width - 3)},${y(pts[0]!)}L${size.width},${y(pts[0]!)}`;
  return `M${coords.join('L')}`;
}

export function Sparkline(props: { values: number[]; label: string; kind: 'cpu' | 'mem' }) {
  const last = props.values.at(-1);
  const text = last === undefined ? '—' : `${Math.round(last)}%`;
  return (
    <span class={`spark spark-${props.kind}`} role="img" aria-label={last === undefined ? `${props.label}: no data yet` : `${props.label} ${text}`}>
      <svg width={SPARK.width} height={SPARK.height} viewBox={`0 0 ${SPARK.width} ${SPARK.height}`} aria-hidden="true" focusable="false">
        <line class="spark-base" x1="0" y1={SPARK.height - 0.5} x2={SPARK.width} y2={SPARK.height - 0.5} />
        {props.values.length > 0 && <path d={sparkPath(props.values)} />}
      </svg>
      <span class="spark-value" aria-hidden="true">{text}</span>
    </span>
  );
}
