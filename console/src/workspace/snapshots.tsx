import type { TabProps } from '../pages/workspace.js';

/** Placeholder: built by the snapshots work. */
export function SnapshotsTab(_props: TabProps) {
  return <p class="empty">Not built yet.</p>;
}
