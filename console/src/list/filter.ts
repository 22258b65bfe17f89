/**
 * The list's filter (pure): a state (`all` or one state) and a search over name, id and
 * image, case-insensitive, every word must match. `stateOptions` lists the states present
 * (plus the selected one, so a filter never silently disappears).
 */
import { stateOf, type Workspace } from '../api/workspaces.js';

export interface ListFilter {
  state: string;
  query: string;
}

export const ALL = 'all';

function haystack(ws: Workspace): string {
  return [ws.name, ws.id, ws.image].filter(Boolean).join(' ').toLowerCase();
}

export function filterWorkspaces(list: Workspace[], f: ListFilter): Workspace[] {
  const words = f.query.toLowerCase().split(/\s+/).filter(Boolean);
  return list.filter((ws) => {
    if (f.state !== ALL && stateOf(ws) !== f.state) return false;
    const text = haystack(ws);
    return words.every((w) => text.includes(w));
  });
}

export function stateOptions(list: Workspace[], selected: string): string[] {
  const states = new Set(list.map(stateOf));
  if (selected !== ALL) states.add(selected);
  return [ALL, ...[...states].sort()];
}

/** "3 workspaces", or "2 of 5 workspaces" when a filter hides some. */
export function countLabel(shown: number, total: number): string {
  const noun = total === 1 ? 'workspace' : 'workspaces';
  return shown === total ? `${total} ${noun}` : `${shown} of ${total} ${noun}`;
}
