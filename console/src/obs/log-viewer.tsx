/**
 * A live log view over one SSE path (boot, cmd or a workload's stream): lines kept in a
 * bounded `LogBuffer`, rendered at most every 100 ms, autoscroll that follows the end until
 * the user scrolls up or presses Pause (scrolling back to the end follows again), and
 * "Clear view" (clears the view only; the API's logs stay). Reconnects through `useStream`.
 * Props: `path` (null: nothing to show), `live` (the workspace runs), `follows` (false for
 * the boot stream, which ends by design), `label` (the log region's accessible name).
 */
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { ErrorBox } from '../components/status.js';
import { clock } from './format.js';
import { entryOf, LogBuffer, type LogLine } from './log-buffer.js';
import type { StreamPhase } from './stream-policy.js';
import { useStream } from './use-stream.js';
import './log-viewer.css';

export interface LogViewerProps {
  path: string | null;
  live: boolean;
  follows: boolean;
  label: string;
  /** What an ended stream means ("End of the boot log."). */
  endedText?: string;
}

const STATUS: Record<StreamPhase, string> = {
  idle: '',
  connecting: 'Connecting…',
  open: 'Live',
  ended: 'Ended',
  waiting: 'Waiting for the workspace to run',
  reconnecting: 'Connection lost; reconnecting…',
  error: 'Stopped',
};

function useBatchedVersion(ms = 100): [number, () => void] {
  const [version, setVersion] = useState(0);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  useEffect(() => () => { if (timer.current) clearTimeout(timer.current); }, []);
  const bump = () => {
    if (timer.current) return;
    timer.current = setTimeout(() => { timer.current = null; setVersion((v) => v + 1); }, ms);
  };
  return [version, bump];
}

export function LogViewer(props: LogViewerProps) {
  const buffer = useRef(new LogBuffer());
  const box = useRef<HTMLDivElement>(null);
  const [follow, setFollow] = useState(true);
  const [, bump] = useBatchedVersion();
  const stream = useStream(props.path, {
    live: props.live,
    follows: props.follows,
    needsLive: props.follows,
    onOpen: (reconnect) => { if (reconnect) buffer.current.resume(); },
    onMessage: (data) => {
      const e = entryOf(data);
      if (e && buffer.current.add(e)) bump();
    },
  });
  const lines = buffer.current.toArray();

  useLayoutEffect(() => {
    const el = box.current;
    if (follow && el) el.scrollTop = el.scrollHeight;
  });

  const onScroll = () => {
    const el = box.current;
    if (!el) return;
    const atEnd = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
    if (atEnd !== follow) setFollow(atEnd);
  };
  const clear = () => {
    buffer.current.clear();
    bump();
  };
  const status = stream.phase === 'ended' && props.endedText ? props.endedText : STATUS[stream.phase];

  return (
    <div class="log-viewer">
      <div class="log-toolbar">
        <button type="button" class="secondary" aria-pressed={follow} onClick={() => setFollow(!follow)}>
          {follow ? 'Pause autoscroll' : 'Follow'}
        </button>
        <button type="button" class="secondary" onClick={clear}>Clear view</button>
        <span class={`log-status ${stream.phase}`} role="status" aria-live="polite">
          <span class="dot" aria-hidden="true" />{status}
        </span>
        <span class="muted log-count">
          {lines.length > 0 && `${lines.length.toLocaleString()} lines`}
          {buffer.current.dropped > 0 && ` (the last ${buffer.current.capacity.toLocaleString()})`}
        </span>
      </div>
      <ErrorBox error={stream.error} retry={stream.retry} />
      <div class="log-lines" ref={box} role="log" aria-live="off" aria-label={props.label} tabIndex={0} onScroll={onScroll}>
        {lines.length === 0 ? <p class="empty">{emptyText(stream.phase)}</p> : lines.map(renderLine)}
      </div>
    </div>
  );
}

function emptyText(phase: StreamPhase): string {
  if (phase === 'waiting') return 'The workspace is not running; its logs follow when it runs.';
  if (phase === 'connecting' || phase === 'idle') return 'Connecting…';
  return 'No lines yet.';
}

function renderLine(l: LogLine) {
  const cls = `log-line${l.stream === 'stderr' ? ' stderr' : ''}${l.level && l.level !== 'info' ? ` level-${l.level}` : ''}`;
  return (
    <div class={cls} key={l.id}>
      <time class="hide-narrow" dateTime={l.timestamp}>{clock(l.timestamp)}</time>
      <span class="text">{l.text}</span>
    </div>
  );
}
