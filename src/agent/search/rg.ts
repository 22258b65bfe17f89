/**
 * Locating ripgrep and running `rg --json` with streamed parsing (runtime.md §4.1).
 * The runtime bundle's rg comes first (src/contract/agent-runtime.ts): the same ripgrep in
 * every image, whatever it holds; the others serve an agent run outside a sandbox.
 */
import { spawn, execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { createInterface } from 'node:readline';
import { runtimePath } from '../../contract/agent-runtime.js';
import { relativeTo } from '../files/paths.js';

const RG_CANDIDATES = [runtimePath('rg'), '/usr/bin/rg', '/usr/local/bin/rg', '/bin/rg', '/opt/homebrew/bin/rg'];

export interface RgInfo {
  path: string;
  version: string;
}

let cached: RgInfo | null = null;

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The rg binary and its version, or null when none is installed. */
export async function locateRg(): Promise<RgInfo | null> {
  if (cached && executable(cached.path)) return cached;
  const pathDirs = (process.env.PATH ?? '').split(':').filter(Boolean).map((d) => `${d}/rg`);
  const path = [...RG_CANDIDATES, ...pathDirs].find(executable);
  if (!path) return null;
  const version = await new Promise<string>((resolve) => {
    execFile(path, ['--version'], { timeout: 5000 }, (err, stdout) => {
      const m = /ripgrep\s+(\S+)/.exec(String(stdout));
      resolve(err || !m ? 'unknown' : (m[1] as string));
    });
  });
  cached = { path, version };
  return cached;
}

export interface SearchOptions {
  query: string;
  root: string;
  regex: boolean;
  caseSensitive: boolean;
  wholeWord: boolean;
  maxResults: number;
  timeoutMs: number;
  contextLines: number;
  fileTypes: string[];
  includeHidden: boolean;
  noGitignore: boolean;
  ignorePatterns: string[];
}

/**
 * One matching line. In the flat `matches` array `line` is the line's TEXT: the CLI
 * prints `m.line ?? m.text`. In the per-file `results` object it is the line NUMBER,
 * as in the docs' example (the route converts).
 */
export interface SearchMatch {
  path: string;
  line_number: number;
  line: string;
  column: number;
  text: string;
  context_before?: string[];
  context_after?: string[];
}

export interface SearchOutcome {
  matches: SearchMatch[];
  capped: boolean;
  timedOut: boolean;
  error: string;
}

export function rgArgs(o: SearchOptions): string[] {
  const args = ['--json', '--no-config', '--max-columns', '4096', '--max-columns-preview'];
  args.push(o.caseSensitive ? '--case-sensitive' : '--ignore-case');
  if (!o.regex) args.push('--fixed-strings');
  if (o.wholeWord) args.push('--word-regexp');
  if (o.contextLines > 0) args.push('--context', String(o.contextLines));
  for (const ext of o.fileTypes) args.push('--glob', `*.${ext.replace(/^\*?\./, '')}`);
  if (o.includeHidden) args.push('--hidden');
  if (o.noGitignore) args.push('--no-ignore');
  for (const p of o.ignorePatterns) args.push('--glob', `!${p}`);
  if (o.root === '/') for (const d of ['/proc', '/sys', '/dev']) args.push('--glob', `!${d}`);
  args.push('--regexp', o.query, '--', o.root);
  return args;
}

interface RgText {
  text?: string;
  bytes?: string;
}

function textOf(t: RgText | undefined): string {
  if (!t) return '';
  const s = t.text ?? (t.bytes ? Buffer.from(t.bytes, 'base64').toString('utf8') : '');
  return s.replace(/\r?\n$/, '');
}

/** Runs rg, parsing its JSON lines as they arrive; kills it at max_results or timeout. */
export function runRg(rg: string, o: SearchOptions): Promise<SearchOutcome> {
  return new Promise((resolve) => {
    const child = spawn(rg, rgArgs(o), { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: SearchOutcome = { matches: [], capped: false, timedOut: false, error: '' };
    let before: string[] = [];
    let last: SearchMatch | null = null;
    const stop = () => {
      if (child.exitCode === null) child.kill('SIGKILL');
    };
    const timer = setTimeout(() => {
      out.timedOut = true;
      stop();
    }, o.timeoutMs);
    child.stderr.on('data', (c: Buffer) => (out.error = (out.error + c.toString()).slice(-2000)));
    const rl = createInterface({ input: child.stdout, crlfDelay: Infinity });
    rl.on('line', (line) => {
      if (out.capped || out.timedOut) return;
      let msg: { type?: string; data?: Record<string, any> };
      try {
        msg = JSON.parse(line);
      } catch {
        return;
      }
      const d = msg.data ?? {};
      const file = textOf(d.path);
      if (msg.type === 'begin') {
        before = [];
        last = null;
      } else if (msg.type === 'context') {
        const text = textOf(d.lines);
        if (last && last.path === relativeOrName(o.root, file) && d.line_number > last.line_number) {
          (last.context_after ??= []).push(text);
        } else {
          before.push(text);
          if (before.length > o.contextLines) before.shift();
        }
      } else if (msg.type === 'match') {
        if (out.matches.length >= o.maxResults) {
          out.capped = true;
          stop();
          return;
        }
        const m: SearchMatch = {
          path: relativeOrName(o.root, file),
          line_number: d.line_number,
          line: textOf(d.lines),
          column: ((d.submatches?.[0]?.start as number | undefined) ?? 0) + 1,
          text: textOf(d.lines),
        };
        if (o.contextLines > 0) {
          m.context_before = before;
          before = [];
        }
        out.matches.push(m);
        last = m;
      }
    });
    child.on('error', (err) => {
      out.error = String(err);
    });
    child.on('close', () => {
      clearTimeout(timer);
      rl.close();
      resolve(out);
    });
  });
}

function relativeOrName(root: string, file: string): string {
  if (file === root) return file.slice(file.lastIndexOf('/') + 1);
  return file.startsWith(root === '/' ? '/' : `${root}/`) ? relativeTo(root, file) : file;
}
