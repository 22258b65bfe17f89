/**
 * The query of POST /images/build became a zod schema (`buildQuerySchema`); this holds
 * `parseBuildRequest` to the hand-written parser it replaced (copied below): the same request,
 * or the same code and `details.field` (dockerfile, name, network, no_cache, build_arg, in order).
 */
import { test } from 'node:test';
import { AppError } from './errors.js';
import { parseImageName } from './images.js';
import { parseBuildOptions, parseBuildRequest } from './image-build.js';
import { same } from '../../test/support/parser-equivalence.js';

// ---- the hand-written parser as it was (src/contract/image-build.ts before the schema; parseBuildOptions, which
// judged network and no_cache, is unchanged and used as it was) ----

const BUILD_ARG_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MAX_BUILD_ARGS = 256;
const MAX_BUILD_ARG_BYTES = 64 * 1024;

function fail(field: string, message: string): never {
  throw new AppError('validation_error', message, { field });
}

function legacyParseBuildArgs(v: unknown, field: string): Record<string, string> {
  if (v === undefined || v === null) return {};
  const entries: Array<[string, unknown]> = Array.isArray(v)
    ? v.map((s) => {
        if (typeof s !== 'string' || !s.includes('=')) fail(field, `${field} entries are NAME=value`);
        return [s.slice(0, s.indexOf('=')), s.slice(s.indexOf('=') + 1)];
      })
    : typeof v === 'object' ? Object.entries(v as Record<string, unknown>) : fail(field, `${field} must be an object`);
  if (entries.length > MAX_BUILD_ARGS) fail(field, 'too many build args');
  const out: Record<string, string> = {};
  for (const [name, value] of entries) {
    if (!BUILD_ARG_NAME.test(name)) fail(field, 'bad build arg name');
    if (typeof value !== 'string') fail(field, 'build arg must be a string');
    if (Buffer.byteLength(value) > MAX_BUILD_ARG_BYTES) fail(field, 'build arg too long');
    out[name] = value;
  }
  return out;
}

function legacyParseBuildRequest(query: Record<string, string | undefined>, buildArgs: string[]) {
  const dockerfile = query.dockerfile ?? 'Dockerfile';
  if (dockerfile === '' || dockerfile.length > 4096 || dockerfile.includes('\0')) fail('dockerfile', 'dockerfile must be a path inside the build context');
  return {
    name: parseImageName(query.name),
    dockerfile,
    options: { ...parseBuildOptions({ network: query.network, no_cache: query.no_cache }), buildArgs: legacyParseBuildArgs(buildArgs, 'build_arg') },
  };
}

// ---- the comparison ----

type Case = [Record<string, string>, string[]];
const OK = { name: 'team/tool:1' };

test('POST /images/build query: same request, or same code and field, as the hand-written parser', () => {
  const corpus: Case[] = [[{}, []], [OK, []], [{ ...OK, other: 'x' }, []]];
  for (const dockerfile of ['Dockerfile', 'sub/Dockerfile.dev', '', 'a\0b', 'x'.repeat(4096), 'x'.repeat(4097)]) corpus.push([{ ...OK, dockerfile }, []], [{ dockerfile }, []]);
  for (const name of ['ok', 'Bad', '', 'sha256:abc', 'a'.repeat(201)]) corpus.push([{ name }, []], [{ name, network: 'host' }, []]);
  for (const network of ['', 'default', 'none', 'host', 'NONE']) corpus.push([{ ...OK, network }, []], [{ ...OK, network, no_cache: 'yes' }, []]);
  for (const no_cache of ['true', 'false', '', 'yes', '1']) corpus.push([{ ...OK, no_cache }, []], [{ ...OK, no_cache }, ['NOEQ']]);
  const args: string[][] = [['A=1'], ['A=1=2', 'B='], ['A=1', 'A=2'], ['NOEQ'], ['=x'], ['1A=x'], ['A-B=x'], ['__proto__=x'], [`BIG=${'x'.repeat(64 * 1024)}`],
    [`BIG=${'x'.repeat(64 * 1024 + 1)}`], Array.from({ length: 256 }, (_, i) => `A${i}=v`), Array.from({ length: 257 }, (_, i) => `A${i}=v`),
    [...Array.from({ length: 257 }, (_, i) => `A${i}=v`), 'NOEQ'], ['1A=x', 'NOEQ']];
  for (const a of args) corpus.push([OK, a], [{ ...OK, build_arg: a[0] ?? '' }, a]);
  same('build query', corpus, (c) => legacyParseBuildRequest(...(c as Case)), (c) => parseBuildRequest(...(c as Case)));
});
