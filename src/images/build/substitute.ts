/**
 * Docker's word processing for Dockerfile instructions (pure): quote removal, escapes
 * and environment substitution, with the rules of BuildKit's shell lexer
 * (frontend/dockerfile/shell/lex.go), which Docker applies to the arguments of
 * ADD, COPY, ENV, EXPOSE, FROM, LABEL, USER, WORKDIR, ARG defaults and `--chown`.
 *
 * - `'…'` keeps everything literally; `"…"` keeps everything but `$` substitutions, and
 *   the escape character escapes only `"`, `$` and itself there.
 * - Outside quotes the escape character (`\`, or `` ` `` under `# escape=`) makes the next
 *   character literal.
 * - `$NAME`, `${NAME}`, `${NAME:-word}` (word when unset or empty), `${NAME-word}` (when
 *   unset), `${NAME:+word}` (word when set and not empty), `${NAME+word}` (when set),
 *   `${NAME:?msg}` / `${NAME?msg}` (error when unset/empty). `word` is itself processed.
 * - A `$` not followed by a name stays `$`; an unset variable expands to the empty string.
 *
 * Not supported (refused as a syntax error): the pattern operators `${NAME#…}`,
 * `${NAME%…}` and `${NAME/…}` of the newest Dockerfile syntax.
 */

/** What a substitution can see: defined variables only (an ARG without value is absent). */
export type VarLookup = (name: string) => string | undefined;

export class SubstitutionError extends Error {}

/** The result of processing one word; `used` lists the variables it read. */
export interface Processed {
  value: string;
  /** Whitespace-separated words, splitting substituted values and unquoted text (for EXPOSE). */
  words: string[];
  used: string[];
}

const EOF = '';
const SPECIAL_PARAMS = new Set(['@', '*', '#', '?', '-', '$', '!', '0']);

class Lexer {
  private pos = 0;
  private readonly used = new Set<string>();
  private current = '';
  private readonly words: string[] = [];
  private inWord = false;

  constructor(
    private readonly src: string,
    private readonly lookup: VarLookup,
    private readonly escape: string,
  ) {}

  run(): Processed {
    const value = this.processUntil(EOF, true);
    this.flushWord();
    return { value, words: this.words, used: [...this.used] };
  }

  private peek(): string {
    return this.src[this.pos] ?? EOF;
  }

  private next(): string {
    const ch = this.src[this.pos] ?? EOF;
    if (ch !== EOF) this.pos++;
    return ch;
  }

  // --- word splitting (only tracked at the top level, as Docker's ProcessWords) ---
  private addRaw(s: string, track: boolean): void {
    if (!track) return;
    this.current += s;
    this.inWord = true;
  }

  private addSplittable(s: string, track: boolean): void {
    if (!track) return;
    for (const ch of s) {
      if (/\s/.test(ch)) this.flushWord();
      else {
        this.current += ch;
        this.inWord = true;
      }
    }
  }

  private flushWord(): void {
    if (this.inWord) this.words.push(this.current);
    this.current = '';
    this.inWord = false;
  }

  /** Reads until `stop` (consumed) or the end; `track` records words (top level only). */
  private processUntil(stop: string, track: boolean): string {
    let out = '';
    while (this.peek() !== EOF) {
      const ch = this.peek();
      if (stop !== EOF && ch === stop) {
        this.next();
        return out;
      }
      if (ch === "'") {
        const s = this.singleQuoted();
        out += s;
        this.addRaw(s, track);
      } else if (ch === '"') {
        const s = this.doubleQuoted();
        out += s;
        this.addRaw(s, track);
      } else if (ch === '$') {
        const s = this.dollar();
        out += s;
        this.addSplittable(s, track);
      } else {
        this.next();
        if (ch === this.escape) {
          const escaped = this.next();
          if (escaped === EOF) break;
          out += escaped;
          this.addRaw(escaped, track);
        } else {
          out += ch;
          this.addSplittable(ch, track);
        }
      }
    }
    if (stop !== EOF) throw new SubstitutionError(`unexpected end of statement while looking for matching ${stop}`);
    return out;
  }

  private singleQuoted(): string {
    this.next();
    let out = '';
    for (;;) {
      const ch = this.next();
      if (ch === EOF) throw new SubstitutionError('unexpected end of statement while looking for matching single-quote');
      if (ch === "'") return out;
      out += ch;
    }
  }

  private doubleQuoted(): string {
    this.next();
    let out = '';
    for (;;) {
      const ch = this.peek();
      if (ch === EOF) throw new SubstitutionError('unexpected end of statement while looking for matching double-quote');
      if (ch === '"') {
        this.next();
        return out;
      }
      if (ch === '$') {
        out += this.dollar();
        continue;
      }
      this.next();
      if (ch === this.escape) {
        const after = this.peek();
        if (after === EOF) continue;
        if (after === '"' || after === '$' || after === this.escape) {
          out += this.next();
          continue;
        }
      }
      out += ch;
    }
  }

  private get(name: string): string | undefined {
    this.used.add(name);
    return this.lookup(name);
  }

  private dollar(): string {
    this.next();
    if (this.peek() !== '{') {
      const name = this.name();
      return name === '' ? '$' : (this.get(name) ?? '');
    }
    this.next();
    const first = this.peek();
    if (first === EOF) throw new SubstitutionError("syntax error: missing '}'");
    if (first === '{' || first === '}' || first === ':') throw new SubstitutionError('syntax error: bad substitution');
    const name = this.name();
    const op = this.next();
    if (op === '}') return this.get(name) ?? '';
    if (op === ':') return this.modifier(name, this.next(), true);
    if (op === '-' || op === '+' || op === '?') return this.modifier(name, op, false);
    if (op === EOF) throw new SubstitutionError("syntax error: missing '}'");
    throw new SubstitutionError(`unsupported modifier (${op}) in substitution`);
  }

  /** `${NAME:-word}` and friends; `colon` makes empty count as unset. */
  private modifier(name: string, op: string, colon: boolean): string {
    const word = this.processUntil('}', false);
    const value = this.get(name);
    const isSet = colon ? value !== undefined && value !== '' : value !== undefined;
    switch (op) {
      case '-':
        return isSet ? (value ?? '') : word;
      case '+':
        return isSet ? word : '';
      case '?':
        if (!isSet) throw new SubstitutionError(`${name}: ${word || 'is not allowed to be unset'}`);
        return value ?? '';
      default:
        throw new SubstitutionError(`unsupported modifier (${op}) in substitution`);
    }
  }

  /** A name: letters, digits and `_`; or a run of digits; or one special parameter. */
  private name(): string {
    let name = '';
    for (;;) {
      const ch = this.peek();
      if (ch === EOF) return name;
      if (name === '' && /[0-9]/.test(ch)) {
        while (/[0-9]/.test(this.peek()) && this.peek() !== EOF) name += this.next();
        return name;
      }
      if (name === '' && SPECIAL_PARAMS.has(ch)) return this.next();
      if (!/[\p{L}\p{N}_]/u.test(ch)) return name;
      name += this.next();
    }
  }
}

/** Processes one word (quotes removed, escapes applied, variables substituted). */
export function processWord(word: string, lookup: VarLookup, escape = '\\'): Processed {
  return new Lexer(word, lookup, escape).run();
}

/** A lookup over a `KEY=value` list (later entries win) and then an object of extras. */
export function lookupFrom(env: readonly string[], extra: Record<string, string | undefined> = {}): VarLookup {
  const map = new Map<string, string>();
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) map.set(k, v);
  for (const entry of env) {
    const eq = entry.indexOf('=');
    if (eq > 0) map.set(entry.slice(0, eq), entry.slice(eq + 1));
  }
  return (name) => map.get(name);
}
