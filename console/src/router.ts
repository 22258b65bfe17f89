/**
 * A small history router under /console (the server answers index.html for every console
 * path). Routes are data: a pattern list matched in order, so the app has one switch.
 */
import { useEffect, useState } from 'preact/hooks';

export const BASE = '/console';

export type Route =
  | { name: 'sign-in' }
  | { name: 'list' }
  | { name: 'create' }
  | { name: 'workspace'; id: string; tab: WorkspaceTab }
  | { name: 'not-found' };

export const WORKSPACE_TABS = ['overview', 'terminal', 'files', 'logs', 'monitor', 'snapshots', 'workloads', 'network'] as const;
export type WorkspaceTab = typeof WORKSPACE_TABS[number];

export function parseRoute(pathname: string): Route {
  const path = pathname.startsWith(BASE) ? pathname.slice(BASE.length) : pathname;
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts.length === 0) return { name: 'list' };
  if (parts[0] === 'sign-in' && parts.length === 1) return { name: 'sign-in' };
  if (parts[0] === 'new' && parts.length === 1) return { name: 'create' };
  if (parts[0] === 'w' && parts[1] && parts.length <= 3) {
    const tab = (parts[2] ?? 'overview') as WorkspaceTab;
    if (WORKSPACE_TABS.includes(tab)) return { name: 'workspace', id: parts[1], tab };
  }
  return { name: 'not-found' };
}

export function hrefOf(route: Route): string {
  switch (route.name) {
    case 'sign-in': return `${BASE}/sign-in`;
    case 'list': return `${BASE}/`;
    case 'create': return `${BASE}/new`;
    case 'workspace': return `${BASE}/w/${encodeURIComponent(route.id)}${route.tab === 'overview' ? '' : `/${route.tab}`}`;
    default: return `${BASE}/`;
  }
}

const listeners = new Set<() => void>();

export function navigate(to: Route | string, opts: { replace?: boolean } = {}): void {
  const href = typeof to === 'string' ? to : hrefOf(to);
  if (opts.replace) history.replaceState(null, '', href);
  else history.pushState(null, '', href);
  for (const fn of listeners) fn();
}

/** The current route; re-renders on navigate() and on back/forward. */
export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.pathname));
  useEffect(() => {
    const update = () => setRoute(parseRoute(location.pathname));
    listeners.add(update);
    addEventListener('popstate', update);
    return () => { listeners.delete(update); removeEventListener('popstate', update); };
  }, []);
  return route;
}

/** An <a> click handler that navigates in-app (modifier clicks keep the browser's behaviour). */
export function linkClick(e: MouseEvent, href: string): void {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  e.preventDefault();
  navigate(href);
}
