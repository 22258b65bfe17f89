/**
 * A small glob / .gitignore matcher. Enough for `ignore_patterns`, `exclude_patterns`
 * and the root .gitignore (runtime.md §3.1): `*`, `?`, `**`, `[...]`, a leading `/`
 * (anchored), a trailing `/` (directories only) and `!` negation. Patterns without a
 * slash match the entry's name at any depth; patterns with one match the relative path.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

interface Rule {
  regex: RegExp;
  anchored: boolean;
  dirOnly: boolean;
  negate: boolean;
}

export class IgnoreMatcher {
  private readonly rules: Rule[] = [];

  constructor(patterns: string[] = []) {
    for (const p of patterns) this.add(p);
  }

  get empty(): boolean {
    return this.rules.length === 0;
  }

  add(line: string): void {
    let p = line.replace(/\s+$/, '');
    if (p.length === 0 || p.startsWith('#')) return;
    const negate = p.startsWith('!');
    if (negate) p = p.slice(1);
    const dirOnly = p.endsWith('/');
    if (dirOnly) p = p.replace(/\/+$/, '');
    const anchored = p.includes('/');
    p = p.replace(/^\/+/, '');
    if (p.length === 0) return;
    this.rules.push({ regex: globToRegExp(p), anchored, dirOnly, negate });
  }

  /** True when `rel` (path relative to the root, no leading slash) is ignored. */
  ignores(rel: string, isDir: boolean): boolean {
    const name = rel.slice(rel.lastIndexOf('/') + 1);
    let ignored = false;
    for (const rule of this.rules) {
      if (rule.dirOnly && !isDir) continue;
      const subject = rule.anchored ? rel : name;
      if (rule.regex.test(subject)) ignored = !rule.negate;
    }
    return ignored;
  }
}

/** Reads `<root>/.gitignore` into a matcher (empty when absent); `.git` is always ignored. */
export async function loadGitignore(root: string): Promise<IgnoreMatcher> {
  const matcher = new IgnoreMatcher(['.git']);
  try {
    const text = await readFile(join(root, '.gitignore'), 'utf8');
    for (const line of text.split('\n').slice(0, 10_000)) matcher.add(line);
  } catch {
    // no .gitignore: only .git
  }
  return matcher;
}

export function globToRegExp(glob: string): RegExp {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        i++;
        if (glob[i + 1] === '/') {
          i++;
          out += '(?:.*/)?';
        } else out += '.*';
      } else out += '[^/]*';
    } else if (c === '?') out += '[^/]';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end === -1) out += '\\[';
      else {
        const body = glob.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\');
        out += `[${body}]`;
        i = end;
      }
    } else out += c.replace(/[.+^${}()|\\\]]/g, '\\$&');
  }
  return new RegExp(`^${out}$`);
}
