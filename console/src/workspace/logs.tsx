import type { TabProps } from '../pages/workspace.js';

/** Placeholder: built by the logs work. */
export function LogsTab(_props: TabProps) {
  return <p class="empty">Not built yet.</p>;
}
