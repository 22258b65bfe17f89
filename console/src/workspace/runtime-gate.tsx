/**
 * The gate in front of every tab that talks to the workspace's runtime API (terminal, files).
 * It reads whether gateway access is possible (public access on the network AND the runtime
 * API enabled); when something is off it says what and offers ONE button that turns it on,
 * with a sentence on what that does. Its children render only when access is on and the
 * workspace is running; they get `recheck()` to send the user back here (e.g. after a call
 * failed because access was turned off elsewhere).
 */
import './runtime-gate.css';
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { accessState, turnOnAccess } from '../api/runtime.js';
import { stateOf, type Workspace } from '../api/workspaces.js';
import { ErrorBox, Loading } from '../components/status.js';
import { useAsync } from '../components/use-async.js';

interface Props {
  ws: Workspace;
  /** What the user wants to use, for the sentences ("the terminal", "the files"). */
  purpose: string;
  refresh: () => void;
  children: (recheck: () => void) => ComponentChildren;
}

export function RuntimeGate(props: Props) {
  const access = useAsync((signal) => accessState(props.ws.id, signal), [props.ws.id]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  if (!access.data) {
    return access.error ? <ErrorBox error={access.error} retry={access.reload} /> : <Loading label="Checking runtime access…" />;
  }
  const { enabled, publicAccess } = access.data;
  if (!enabled || !publicAccess) {
    const turnOn = async () => {
      setBusy(true);
      setError(null);
      try {
        await turnOnAccess(props.ws.id, access.data!);
        props.refresh();
        access.reload();
      } catch (err) {
        setError(err);
      } finally {
        setBusy(false);
      }
    };
    return (
      <section class="card runtime-gate" aria-labelledby="runtime-gate-title">
        <h2 id="runtime-gate-title">Runtime access is off</h2>
        <p>To use {props.purpose} the console reaches the workspace through Warren's gateway. Missing:</p>
        <ul>
          {!publicAccess && <li>public access on the workspace network</li>}
          {!enabled && <li>the workspace's runtime API</li>}
        </ul>
        <p class="muted">
          Turning it on lets Warren's host reach the workspace's open ports (public access) and enables its runtime
          API (port 9990), which answers only callers holding a runtime token — Warren gives one to signed-in users
          with access to this workspace, such as you.
        </p>
        <button type="button" onClick={turnOn} disabled={busy}>{busy ? 'Turning on…' : 'Turn on runtime access'}</button>
        <ErrorBox error={error} />
      </section>
    );
  }
  const state = stateOf(props.ws);
  if (state !== 'running') {
    return <p class="empty">The workspace is {state}: start it to use {props.purpose}.</p>;
  }
  return <>{props.children(access.reload)}</>;
}
