import type { TabProps } from '../pages/workspace.js';

/** Placeholder: built by the workloads work. */
export function WorkloadsTab(_props: TabProps) {
  return <p class="empty">Not built yet.</p>;
}
