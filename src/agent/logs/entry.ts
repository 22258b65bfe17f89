/**
 * A log entry: `{"t":ISO,"s":"stdout"|"stderr","d":text}`, one JSON line in the log file.
 * `d` is a chunk of output (complete lines with their newlines, or a partial line flushed
 * late; src/agent/logs/lines.ts).
 */
export type LogStreamName = 'stdout' | 'stderr';

export interface LogEntry {
  t: string;
  s: LogStreamName;
  d: string;
}

/** A stored line as an entry; a line that is not ours (the directory is writable) becomes plain data. */
export function parseEntry(line: string): LogEntry {
  try {
    const v = JSON.parse(line) as Partial<LogEntry> | null;
    if (v && typeof v === 'object' && typeof v.d === 'string') {
      return { t: typeof v.t === 'string' ? v.t : '', s: v.s === 'stderr' ? 'stderr' : 'stdout', d: v.d };
    }
  } catch {
    /* not JSON */
  }
  return { t: '', s: 'stdout', d: line };
}

/** The wire shape of an entry (`WorkloadLogEntry`, control-plane.md §11). */
export function entryToWire(e: LogEntry): { data: string; stream: LogStreamName; timestamp: string } {
  return { data: e.d, stream: e.s, timestamp: e.t };
}
