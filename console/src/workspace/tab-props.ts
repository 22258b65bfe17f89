import type { Workspace } from '../api/workspaces.js';

/** What every workspace tab is given by the workspace page. */
export interface TabProps {
  ws: Workspace;
  /** Reload the workspace object (after an action changed it). */
  refresh: () => void;
}
