/**
 * Workspace paths as the runtime API takes them (runtime.md §3: absolute, "/"-separated),
 * handled as plain strings: normalising, joining, the parent, the name, breadcrumb segments,
 * and checking a name typed for a new folder. Pure; the same rules as POSIX `path`.
 */

/** An absolute path with `.`/`..` folded, repeated and trailing slashes dropped ("/" stays). */
export function normalizePath(path: string): string {
  const out: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return `/${out.join('/')}`;
}

/** `name` inside `dir` (a relative `name` may hold several segments; an absolute one wins). */
export function joinPath(dir: string, name: string): string {
  return normalizePath(name.startsWith('/') ? name : `${dir}/${name}`);
}

export function parentOf(path: string): string {
  const p = normalizePath(path);
  if (p === '/') return '/';
  return p.slice(0, p.lastIndexOf('/')) || '/';
}

export function baseName(path: string): string {
  const p = normalizePath(path);
  return p === '/' ? '/' : p.slice(p.lastIndexOf('/') + 1);
}

export interface Crumb {
  name: string;
  path: string;
}

/** "/srv/app" → [/, srv, app] with the path each one opens. */
export function crumbs(path: string): Crumb[] {
  const p = normalizePath(path);
  const out: Crumb[] = [{ name: '/', path: '/' }];
  let at = '';
  for (const part of p.split('/').filter(Boolean)) {
    at += `/${part}`;
    out.push({ name: part, path: at });
  }
  return out;
}

/** Why a typed file or folder name cannot be used, or null when it can. */
export function nameProblem(name: string): string | null {
  if (name.trim() === '') return 'Enter a name.';
  if (name.includes('/')) return 'A name cannot contain "/".';
  if (name === '.' || name === '..') return 'That name is reserved.';
  if (name.includes('\0')) return 'A name cannot contain NUL.';
  if (new TextEncoder().encode(name).length > 255) return 'The name is too long (255 bytes at most).';
  return null;
}

/** Where a symlink points, as an absolute path (`target` may be relative to the link's folder). */
export function resolveLink(linkPath: string, target: string): string {
  return joinPath(parentOf(linkPath), target);
}
