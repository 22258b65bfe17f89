/**
 * The Terminal tab (loaded lazily: xterm.js stays out of the first load). Behind the runtime
 * access gate, it shows the workspace's terminal sessions as tabs over one shared `/ws`
 * (terminal/hub.ts): new tab, switch, close (`DELETE /terminals/:id`, asked first while the
 * process runs). The screen follows its element (ResizeObserver → fit → resize frame). The
 * connection state is always shown: "Reconnecting…" over the screens after a blip (scrollback
 * kept), "opened elsewhere" with a Reconnect button when another client took the socket.
 */
import '@xterm/xterm/css/xterm.css';
import '../terminal/terminal.css';
import { useEffect, useLayoutEffect, useReducer, useRef, useState } from 'preact/hooks';
import type { TabProps } from './tab-props.js';
import { describe } from '../api/errors.js';
import { useConfirm } from '../components/confirm.js';
import { ErrorBox } from '../components/status.js';
import { TerminalHub } from '../terminal/hub.js';
import type { SocketState } from '../terminal/socket.js';
import { RuntimeGate } from './runtime-gate.js';

export default function TerminalTab(props: TabProps) {
  return (
    <RuntimeGate ws={props.ws} refresh={props.refresh} purpose="the terminal">
      {(recheck) => <TerminalPanel key={props.ws.id} workspaceId={props.ws.id} recheck={recheck} />}
    </RuntimeGate>
  );
}

function TerminalPanel(props: { workspaceId: string; recheck: () => void }) {
  const [hub] = useState(() => new TerminalHub(props.workspaceId));
  const [, rerender] = useReducer((n: number) => n + 1, 0);
  const stage = useRef<HTMLDivElement>(null);
  const shown = useRef<string | null>(null);
  const { confirm, element: confirmDialog } = useConfirm();

  useEffect(() => {
    const off = hub.subscribe(() => rerender(undefined));
    hub.start();
    return () => { off(); hub.dispose(); };
  }, [hub]);

  // Screens live outside Preact: put each in the stage, show the active one, fit and focus it.
  useLayoutEffect(() => {
    const el = stage.current;
    if (!el) return;
    for (const t of hub.tabs()) hub.screen(t.id)?.mount(el, t.id === hub.active);
    if (shown.current !== hub.active) {
      shown.current = hub.active;
      const s = hub.active ? hub.screen(hub.active) : undefined;
      requestAnimationFrame(() => { s?.fit(); s?.term.focus(); });
    }
  });

  useEffect(() => {
    const el = stage.current;
    if (!el || typeof ResizeObserver === 'undefined') return;
    const ro = new ResizeObserver(() => { if (hub.active) hub.screen(hub.active)?.fit(); });
    ro.observe(el);
    return () => ro.disconnect();
  }, [hub]);

  const tabs = hub.tabs();
  const closeTab = async (id: string) => {
    const t = tabs.find((x) => x.id === id);
    const running = t && t.exited === null && !t.gone;
    if (running && !(await confirm(`Close terminal ${id}? Its process is ended.`, 'Close'))) return;
    await hub.close(id);
  };

  return (
    <section class="terminal-panel" aria-label="Terminals">
      <div class="term-bar">
        <div class="term-tabs" role="tablist" aria-label="Terminal sessions">
          {tabs.map((t) => (
            <span key={t.id} class="term-tab" data-active={t.id === hub.active ? 'true' : undefined}>
              <button type="button" role="tab" aria-selected={t.id === hub.active} aria-controls="term-stage"
                onClick={() => hub.select(t.id)}>
                {t.label}{t.exited !== null ? ` (exited ${t.exited})` : t.gone ? ' (closed)' : ''}
              </button>
              <button type="button" class="term-close" aria-label={`Close ${t.label}`} title={`Close ${t.label}`}
                onClick={() => closeTab(t.id)}>×</button>
            </span>
          ))}
        </div>
        <button type="button" class="secondary" onClick={() => hub.create()} disabled={hub.creating}>
          {hub.creating ? 'Opening…' : 'New terminal'}
        </button>
        <ConnectionStatus state={hub.socket.state} hub={hub} recheck={props.recheck} />
      </div>
      <ErrorBox error={hub.error} />
      <div class="term-stage-wrap">
        <div id="term-stage" class="term-stage" ref={stage} role="tabpanel" aria-label={hub.active ? `Terminal ${hub.active}` : 'Terminal'} />
        {tabs.length === 0 && hub.socket.state.kind === 'open' && !hub.creating && (
          <p class="term-empty">No terminal is open. <button type="button" onClick={() => hub.create()}>Open one</button></p>
        )}
        <Overlay state={hub.socket.state} />
      </div>
      {confirmDialog}
    </section>
  );
}

function Overlay(props: { state: SocketState }) {
  const k = props.state.kind;
  if (k === 'open' || k === 'idle') return null;
  const text = k === 'connecting' ? 'Connecting…' : k === 'reconnecting' ? 'Reconnecting…'
    : k === 'displaced' ? 'Opened elsewhere' : 'Disconnected';
  return <div class="term-overlay" aria-hidden="true"><span>{text}</span></div>;
}

function ConnectionStatus(props: { state: SocketState; hub: TerminalHub; recheck: () => void }) {
  const { state, hub } = props;
  let body;
  switch (state.kind) {
    case 'open': body = <span class="term-status ok">Connected</span>; break;
    case 'idle': case 'connecting': body = <span class="term-status">Connecting…</span>; break;
    case 'reconnecting':
      body = (
        <>
          <span class="term-status warn" title={describe(state.error)}>Reconnecting… (attempt {state.attempt})</span>
          <button type="button" class="secondary" onClick={() => hub.socket.retryNow()}>Retry now</button>
        </>
      );
      break;
    case 'displaced':
      body = (
        <>
          <span class="term-status warn">Opened elsewhere: another browser tab or client took this workspace's terminal connection.</span>
          <button type="button" onClick={() => hub.socket.reconnect()}>Reconnect</button>
        </>
      );
      break;
    case 'stopped':
      body = (
        <>
          <span class="term-status bad">{describe(state.error)}</span>
          <button type="button" class="secondary" onClick={props.recheck}>Check access</button>
          <button type="button" onClick={() => hub.socket.reconnect()}>Reconnect</button>
        </>
      );
      break;
  }
  return <div class="term-conn" role="status" aria-live="polite">{body}</div>;
}
