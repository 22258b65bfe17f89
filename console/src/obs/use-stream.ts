/**
 * Follows one SSE path of the API and reconnects as `stream-policy.ts` decides.
 * `onMessage` gets every payload; `onOpen(reconnect)` runs once each response has started
 * (so a log buffer can arm its replay filter before the replay arrives). The stream closes
 * when the path or `live` changes, or the component unmounts. Returns the phase (`open`
 * from the moment the response started, even before any event), the last error and
 * `retry()`.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { send } from '../api/client.js';
import { sseMessages, type SseMessage } from '../api/sse.js';
import { afterStream, type StreamOutcome, type StreamPhase } from './stream-policy.js';

export interface StreamOptions {
  /** The workspace is in a state where the stream can be open. */
  live: boolean;
  /** Follows forever (reconnect on end) rather than ending by design. */
  follows: boolean;
  /** Open only while live (the API answers 409 otherwise). */
  needsLive: boolean;
  onMessage: (data: unknown, event: string | null) => void;
  onOpen?: (reconnect: boolean) => void;
}

export interface StreamState {
  phase: StreamPhase;
  error: unknown;
  retry: () => void;
}

/** Reads the body of one SSE response, handing each message to `each`. */
async function readSse(res: Response, each: (m: SseMessage) => void): Promise<void> {
  for await (const m of sseMessages(res)) each(m);
}

export function useStream(path: string | null, opts: StreamOptions): StreamState {
  const [phase, setPhase] = useState<StreamPhase>('idle');
  const [error, setError] = useState<unknown>(null);
  const [kick, setKick] = useState(0);
  const handlers = useRef(opts);
  handlers.current = opts;
  const opened = useRef(0);

  useEffect(() => {
    if (!path) return undefined;
    if (opts.needsLive && !opts.live) {
      setPhase('waiting');
      setError(null);
      return undefined;
    }
    const ctl = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    let attempt = 0;
    const input = { live: opts.live, follows: opts.follows };

    const connect = async () => {
      setPhase('connecting');
      let outcome: StreamOutcome;
      try {
        const res = await send('GET', path, { signal: ctl.signal });
        handlers.current.onOpen?.(opened.current++ > 0);
        setPhase('open');
        setError(null);
        attempt = 0;
        await readSse(res, (m) => handlers.current.onMessage(m.data, m.event));
        if (ctl.signal.aborted) return;
        outcome = afterStream({ ...input, ended: true, attempt });
      } catch (err) {
        if (ctl.signal.aborted) return;
        outcome = afterStream({ ...input, ended: false, error: err, attempt });
        setError(outcome.phase === 'error' ? err : null);
      }
      setPhase(outcome.phase);
      if (outcome.retryInMs !== null) {
        attempt++;
        timer = setTimeout(() => void connect(), outcome.retryInMs);
      }
    };
    void connect();
    return () => {
      ctl.abort();
      clearTimeout(timer);
    };
  }, [path, opts.live, opts.needsLive, opts.follows, kick]);

  return { phase, error, retry: () => setKick((k) => k + 1) };
}
