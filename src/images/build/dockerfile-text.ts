/**
 * Small text rules of Docker's Dockerfile parser that `dockerfile-ast` (an editor's
 * parser) leaves to its callers (pure):
 * - joining continuation lines: the escape character at a line's end (blanks after it
 *   allowed) joins the next line *without* a newline; comment lines and empty lines inside
 *   a continuation are dropped; a continued line keeps its leading blanks;
 * - the exec form: the arguments parse as a JSON array of strings, else it is shell form.
 */

/** Joins an instruction's raw argument text (as written, over one or more lines). */
export function joinContinuations(raw: string, escape: string): string {
  const lines = raw.split(/\r\n|\r|\n/);
  const continuation = new RegExp(`${escapeRegExp(escape)}[ \\t]*$`);
  let out = '';
  lines.forEach((line, i) => {
    if (i > 0 && (/^\s*#/.test(line) || line.trim() === '')) return;
    out += line.replace(continuation, '');
  });
  return out;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export interface Flag {
  name: string;
  /** null for a bare `--name`. */
  value: string | null;
}

/** The exec form's argv when `text` is a JSON array of strings; null for shell form. */
export function parseExecForm(text: string): string[] | null {
  const t = text.trim();
  if (!t.startsWith('[')) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(t);
  } catch {
    return null;
  }
  if (!Array.isArray(parsed) || !parsed.every((x) => typeof x === 'string')) return null;
  return parsed as string[];
}

/** Whitespace-separated words, as Docker splits COPY/ADD/EXPOSE/VOLUME in shell form. */
export function splitWords(text: string): string[] {
  return text.split(/[ \t\v\f\r\n]+/).filter((w) => w !== '');
}

/** One line for humans: blanks collapsed, at most `max` characters. */
export function displayText(keyword: string, args: string, max = 400): string {
  const t = `${keyword} ${args.replace(/\s+/g, ' ').trim()}`.trim();
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}
