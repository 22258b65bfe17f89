/**
 * Image request bodies (Warren extension, issue 12). Bad input is `validation_error`
 * with `details.field`. Image names are Docker-like references in lower case
 * (`team/tool:1.2`, `my-image`), at most 200 characters.
 */
import { Readable } from 'node:stream';
import { z } from 'zod';
import { AppError } from './errors.js';
import { parseWith } from './zod-parse.js';

export const IMAGE_NAME = /^[a-z0-9][a-z0-9._-]*(?:\/[a-z0-9][a-z0-9._-]*)*(?::[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127})?$/;
export const IMAGE_NAME_MAX = 200;

const NAME_RULE = `must be an image name like team/tool:1.0 (lower case, at most ${IMAGE_NAME_MAX} characters)`;

/** An image name: a lower-case Docker-like reference, never a `sha256:` id. */
export const imageNameSchema = z.string({ error: `name ${NAME_RULE}` })
  .refine((v) => v.length > 0 && v.length <= IMAGE_NAME_MAX && IMAGE_NAME.test(v) && !/^sha256:/.test(v), `name ${NAME_RULE}`)
  .meta({ pattern: IMAGE_NAME.source, maxLength: IMAGE_NAME_MAX });

/** An image name where `field` names it in a refusal (a body field, a query parameter, a CLI option). */
export function parseImageName(v: unknown, field = 'name'): string {
  const r = imageNameSchema.safeParse(v);
  if (!r.success) throw new AppError('validation_error', `${field} ${NAME_RULE}`, { field });
  return r.data;
}

export interface CommitImageCommand {
  name: string;
}

/** `POST /workspace/:id/image` `{ name }`. */
export const commitImageSchema = z.looseObject({ name: imageNameSchema });

export function parseCommitImage(body: unknown): CommitImageCommand {
  return { name: parseWith(commitImageSchema, body).name };
}

export interface ImportPathCommand {
  path: string;
  name?: string;
}

const PATH_RULE = 'path must be an absolute path on the server';

/** `POST /images` `{ path, name? }`: an absolute path on the server, judged before the name. */
export const importPathSchema = z.looseObject({
  path: z.string({ error: PATH_RULE }).max(4096, PATH_RULE).refine((v) => v.startsWith('/') && !v.includes('\0'), PATH_RULE)
    .describe('Absolute path of an archive under WARREN_IMAGE_IMPORT_DIRS'),
  name: imageNameSchema.optional(),
});

export function parseImportPath(body: unknown): ImportPathCommand {
  const b = parseWith(importPathSchema, body);
  return { path: b.path, ...(b.name === undefined ? {} : { name: b.name }) };
}

/** Body types an uploaded archive may come as. */
export const ARCHIVE_TYPES = ['application/x-tar', 'application/tar', 'application/octet-stream'];

/** `POST /images?name=N` (an archive as the body): the name of the image. */
export const importUploadQuerySchema = z.object({ name: imageNameSchema.optional().describe('Image name (tar upload)') });

/**
 * `POST /images?name=N` with the archive as the body: the body's type and presence are
 * judged first (plain code: they are not query fields), then the query.
 */
export function parseImportUpload(contentType: string, q: Record<string, string | undefined>, body: ReadableStream<Uint8Array> | null):
  { name?: string; stream: Readable } {
  if (!ARCHIVE_TYPES.includes(contentType)) {
    throw new AppError('bad_request', `Send the archive as ${ARCHIVE_TYPES.join(', ')} or a JSON body { path }`, { field: 'content-type' });
  }
  if (!body) throw new AppError('validation_error', 'The archive is missing', { field: 'archive' });
  const { name } = parseWith(importUploadQuerySchema, q);
  return { ...(name === undefined ? {} : { name }), stream: Readable.fromWeb(body as never) };
}

/** GET /workspace/images: `search` and `category` filters, '' being "not given". */
export const imageListQuerySchema = z.object({
  search: z.string().optional().describe('Text in name or description'),
  category: z.string().optional().describe('Category id'),
});

export function parseImageList(q: Record<string, string | undefined>): { search?: string; category?: string } {
  const b = parseWith(imageListQuerySchema, q);
  return { search: b.search || undefined, category: b.category || undefined };
}
