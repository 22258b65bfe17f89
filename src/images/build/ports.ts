/**
 * EXPOSE arguments normalised as Docker records them in `ExposedPorts` (pure):
 * `80` → `80/tcp`, `53/UDP` → `53/udp`, a range `8000-8002/tcp` → each port.
 * Recorded only: exposing opens nothing in Warren.
 */
import { invalid } from './dockerfile.js';

/** At most this many ports from one range. */
const MAX_RANGE = 1024;
const PORT = /^(\d{1,5})(?:-(\d{1,5}))?(?:\/(tcp|udp|sctp))?$/i;

export function exposedPorts(words: string[], line: number): string[] {
  const out: string[] = [];
  for (const w of words) {
    const m = PORT.exec(w);
    const first = Number(m?.[1]);
    const last = m?.[2] === undefined ? first : Number(m[2]);
    if (!m || first < 1 || last > 65535 || last < first || last - first >= MAX_RANGE) {
      throw invalid(line, `EXPOSE ${JSON.stringify(w.slice(0, 40))} is not a port, port/protocol or range (1-65535, tcp|udp|sctp)`);
    }
    const proto = (m[3] ?? 'tcp').toLowerCase();
    for (let p = first; p <= last; p++) {
      const entry = `${p}/${proto}`;
      if (!out.includes(entry)) out.push(entry);
    }
  }
  return out;
}
