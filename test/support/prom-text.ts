/**
 * A small strict parser of the Prometheus text exposition format (0.0.4), for tests:
 * every line is a HELP, a TYPE or a sample; every sample belongs to a family whose
 * TYPE came first (histograms own `_bucket`/`_sum`/`_count`); label values are
 * quoted with `\\`, `\"`, `\n` escapes; values are floats, `+Inf`, `-Inf` or `NaN` (any case, as Prometheus).
 * Anything else throws with the line number.
 */
export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface PromFamily {
  name: string;
  type: string;
  help: string;
  samples: PromSample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

function parseValue(v: string, where: string): number {
  // Prometheus reads values with Go's ParseFloat: Inf and NaN in any case (prom-client writes `Nan`).
  if (/^\+?inf$/i.test(v)) return Infinity;
  if (/^-inf$/i.test(v)) return -Infinity;
  if (/^nan$/i.test(v)) return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(v)) throw new Error(`${where}: bad value ${JSON.stringify(v)}`);
  return Number(v);
}

function parseLabels(text: string, where: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let i = 0;
  while (i < text.length) {
    const eq = text.indexOf('=', i);
    if (eq === -1) throw new Error(`${where}: label without '='`);
    const key = text.slice(i, eq);
    if (!LABEL.test(key)) throw new Error(`${where}: bad label name ${JSON.stringify(key)}`);
    if (text[eq + 1] !== '"') throw new Error(`${where}: label value not quoted`);
    let j = eq + 2;
    let value = '';
    for (; j < text.length && text[j] !== '"'; j++) {
      if (text[j] === '\\') {
        const e = text[++j];
        if (e === 'n') value += '\n';
        else if (e === '\\' || e === '"') value += e;
        else throw new Error(`${where}: bad escape \\${e}`);
      } else value += text[j];
    }
    if (j >= text.length) throw new Error(`${where}: unterminated label value`);
    if (key in labels) throw new Error(`${where}: duplicate label ${key}`);
    labels[key] = value;
    i = j + 1;
    if (i < text.length) {
      if (text[i] !== ',') throw new Error(`${where}: expected ',' between labels`);
      i++;
    }
  }
  return labels;
}

function familyOf(name: string, families: Map<string, PromFamily>): PromFamily | undefined {
  const exact = families.get(name);
  if (exact) return exact;
  const m = /^(.*)_(bucket|sum|count)$/.exec(name);
  const base = m ? families.get(m[1]!) : undefined;
  return base && (base.type === 'histogram' || base.type === 'summary') ? base : undefined;
}

export function parsePrometheusText(text: string): Map<string, PromFamily> {
  const families = new Map<string, PromFamily>();
  const lines = text.split('\n');
  if (lines.at(-1) !== '') throw new Error('exposition does not end with a newline');
  lines.forEach((line, n) => {
    const where = `line ${n + 1}`;
    if (line === '') return;
    if (line.startsWith('# HELP ') || line.startsWith('# TYPE ')) {
      const [, kind, name, ...rest] = line.split(' ');
      if (!name || !NAME.test(name)) throw new Error(`${where}: bad metric name`);
      const fam = families.get(name) ?? { name, type: '', help: '', samples: [] };
      families.set(name, fam);
      if (kind === 'HELP') fam.help = rest.join(' ');
      else {
        if (fam.type) throw new Error(`${where}: second TYPE for ${name}`);
        if (!TYPES.has(rest[0] ?? '') || rest.length !== 1) throw new Error(`${where}: bad type`);
        fam.type = rest[0]!;
      }
      return;
    }
    if (line.startsWith('#')) return; // other comments are allowed
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: (-?\d+))?$/.exec(line);
    if (!m) throw new Error(`${where}: not a sample: ${JSON.stringify(line.slice(0, 120))}`);
    const fam = familyOf(m[1]!, families);
    if (!fam || !fam.type) throw new Error(`${where}: sample of ${m[1]} before its TYPE`);
    fam.samples.push({ name: m[1]!, labels: m[2] ? parseLabels(m[2], where) : {}, value: parseValue(m[3]!, where) });
  });
  return families;
}
