import type { TabProps } from '../pages/workspace.js';

/** Placeholder: built by the monitor work (loaded lazily). */
export default function Tab(_props: TabProps) {
  return <p class="empty">Not built yet.</p>;
}
