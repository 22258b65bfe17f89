import type { TabProps } from '../pages/workspace.js';

/** Placeholder: built by the network work. */
export function NetworkTab(_props: TabProps) {
  return <p class="empty">Not built yet.</p>;
}
