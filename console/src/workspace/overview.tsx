/**
 * The overview tab: key facts, lifecycle and restart information, public ports, SSH, and
 * the raw workspace object (pretty JSON, collapsed). While the workspace is in a
 * transitional state (creating, starting, …) the page's workspace is reloaded every second,
 * so the state and the provisioning phase are seen changing.
 */
import { useEffect } from 'preact/hooks';
import { stateOf } from '../api/workspaces.js';
import type { TabProps } from './tab-props.js';
import { Facts } from './overview-facts.js';
import { LifecycleCard } from './overview-lifecycle.js';
import { PortsCard } from './overview-ports.js';
import { SshCard } from './overview-ssh.js';
import { isTransitional } from './ws-states.js';
import './overview.css';

export const SETTLING_POLL_MS = 1000;

export function Overview(props: TabProps) {
  const transitional = isTransitional(stateOf(props.ws));
  useEffect(() => {
    if (!transitional) return;
    const t = setInterval(props.refresh, SETTLING_POLL_MS);
    return () => clearInterval(t);
  }, [transitional, props.refresh]);

  return (
    <div class="overview">
      <div class="ov-grid">
        <Facts ws={props.ws} />
        <LifecycleCard ws={props.ws} />
        <PortsCard ws={props.ws} />
        <SshCard ws={props.ws} />
      </div>
      <details class="raw">
        <summary>Raw workspace object</summary>
        <pre>{JSON.stringify(props.ws, null, 2)}</pre>
      </details>
    </div>
  );
}
