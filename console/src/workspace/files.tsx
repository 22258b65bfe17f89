import type { TabProps } from '../pages/workspace.js';

/** Placeholder: built by the files work. */
export function FilesTab(_props: TabProps) {
  return <p class="empty">Not built yet.</p>;
}
