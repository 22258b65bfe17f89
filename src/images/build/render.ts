/**
 * Build progress for people (pure: events in, text out; the CLI does the writing).
 *
 * - Line mode (logs, pipes, CI): one line per step — `[3/9] RUN make (12.3s)`,
 *   `[2/9] CACHED COPY . /app` — and, for a step that prints, a header line, its log lines
 *   indented with `| `, then `[3/9] done (12.3s)`. Warnings, the result or the error last.
 * - TTY mode: finished steps as the same one-liners, and one status line redrawn in place
 *   (`\r` + erase line): the running step, its elapsed time, a bar of steps done and its
 *   last log line, cut to the terminal's width. A failed step's last log lines are
 *   printed above the error, so the reason is never lost.
 */
import type { BuildEvent } from '../../contract/image-build.js';

export function formatDuration(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

type StepEnd = Extract<BuildEvent, { type: 'step_end' }>;

function stepLine(e: StepEnd): string {
  const n = `[${e.step}/${e.total}]`;
  if (e.cached) return `${n} CACHED ${e.instruction}`;
  return e.ms >= 50 ? `${n} ${e.instruction} (${formatDuration(e.ms)})` : `${n} ${e.instruction}`;
}

function resultLine(e: Extract<BuildEvent, { type: 'done' }>): string {
  const image = e.image ? ` → ${e.image.name}` : '';
  return `built in ${formatDuration(e.ms)}: ${e.totalSteps} steps, ${e.cachedSteps} cached${image}`;
}

function errorLine(e: Extract<BuildEvent, { type: 'error' }>): string {
  return `error ${e.code}: ${e.message}`;
}

/** Line mode: returns the lines to print for each event. */
export function createLineRenderer(): (e: BuildEvent) => string[] {
  let header: { step: number; total: number; instruction: string } | null = null;
  let headerPrinted = false;
  return (e) => {
    switch (e.type) {
      case 'step_start':
        header = e;
        headerPrinted = false;
        return [];
      case 'log': {
        const out: string[] = [];
        if (!headerPrinted && header) out.push(`[${header.step}/${header.total}] ${header.instruction}`);
        headerPrinted = true;
        out.push(`  | ${e.text}`);
        return out;
      }
      case 'step_end':
        return [headerPrinted ? `[${e.step}/${e.total}] done (${formatDuration(e.ms)})` : stepLine(e)];
      case 'warning':
        return [`warning: ${e.message}`];
      case 'done':
        return [resultLine(e)];
      case 'error':
        return [errorLine(e)];
    }
  };
}

export interface TtyFrame {
  /** Lines to print above the status line, each followed by a newline. */
  lines: string[];
  /** The new status line ('' once the build has ended). */
  status: string;
}

/** Log lines of the running step kept to show above an error. */
const KEEP_LOG_LINES = 20;

export interface TtyRenderer {
  update(e: BuildEvent, now?: number): TtyFrame;
  /** The status line at `now` (redraw on a timer for a live clock). */
  status(now?: number): string;
}

export function createTtyRenderer(opts: { columns: number }): TtyRenderer {
  const width = Math.max(20, opts.columns - 1);
  let running: { step: number; total: number; instruction: string; since: number } | null = null;
  let done = 0;
  let total = 0;
  let lastLog = '';
  let logs: string[] = [];
  let ended = false;

  const status = (now = Date.now()): string => {
    if (ended || !running) return '';
    const bar = progressBar(done, total, 12);
    const head = `[${running.step}/${running.total}] ${bar} ${formatDuration(now - running.since)} ${running.instruction}`;
    return cut(lastLog ? `${head} | ${lastLog}` : head, width);
  };

  const update = (e: BuildEvent, now = Date.now()): TtyFrame => {
    switch (e.type) {
      case 'step_start':
        running = { ...e, since: now };
        total = e.total;
        lastLog = '';
        logs = [];
        return { lines: [], status: status(now) };
      case 'log':
        lastLog = e.text.replace(/\s+/g, ' ').trim() || lastLog;
        logs = [...logs.slice(-(KEEP_LOG_LINES - 1)), e.text];
        return { lines: [], status: status(now) };
      case 'step_end':
        done = e.step;
        running = null;
        return { lines: [cut(stepLine(e), width)], status: '' };
      case 'warning':
        return { lines: [cut(`warning: ${e.message}`, width)], status: status(now) };
      case 'done':
        ended = true;
        return { lines: [resultLine(e)], status: '' };
      case 'error':
        ended = true;
        return { lines: [...logs.map((l) => `  | ${l}`), errorLine(e)], status: '' };
    }
  };
  return { update, status };
}

/** The bytes that draw a frame: erase the status line, print the lines, draw the new status. */
export function ttyWrite(frame: TtyFrame): string {
  return `\r\x1b[2K${frame.lines.map((l) => `${l}\n`).join('')}${frame.status}`;
}

export function progressBar(done: number, total: number, width: number): string {
  const filled = total > 0 ? Math.min(width, Math.round((done / total) * width)) : 0;
  return `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
}

/** Cuts to `width` code points, with an ellipsis when cut; control characters become spaces. */
export function cut(s: string, width: number): string {
  const clean = s.replace(/[\x00-\x1f\x7f]/g, ' ');
  const chars = [...clean];
  return chars.length <= width ? clean : `${chars.slice(0, width - 1).join('')}…`;
}
