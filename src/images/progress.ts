/**
 * Turns the builder's progress events into human-sized log lines. debootstrap reports
 * every package three times (Retrieving, Validating, Extracting …); those per-package
 * lines are folded into a running count so a build prints a few dozen lines, not 400.
 */
import type { BuildProgress } from './image-store.js';

const PER_PACKAGE = /^I: (?:(Retrieving|Validating) \S+ \S+|(Extracting|Unpacking|Configuring) \S+\.\.\.)$/;
const SUMMARY_EVERY = 25;

/** Returns an onProgress callback that writes condensed lines with `write`. */
export function createProgressPrinter(write: (line: string) => void): (p: BuildProgress) => void {
  const counts = new Map<string, number>();
  return (p) => {
    if (p.phase === 'debootstrap') {
      const m = PER_PACKAGE.exec(p.message);
      if (m) {
        const verb = m[1] ?? m[2] ?? '';
        const key = `${p.image}:${verb}`;
        const n = (counts.get(key) ?? 0) + 1;
        counts.set(key, n);
        if (n !== 1 && n % SUMMARY_EVERY !== 0) return;
        write(`[images] ${p.image} debootstrap: ${verb} packages… (${n})`);
        return;
      }
    }
    write(`[images] ${p.image} ${p.phase}: ${p.message}`);
  };
}
