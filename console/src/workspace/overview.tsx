import type { TabProps } from '../pages/workspace.js';

/** Placeholder: built by the overview work. */
export function Overview(_props: TabProps) {
  return <p class="empty">Not built yet.</p>;
}
