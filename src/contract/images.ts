/**
 * Image request bodies (Warren extension, issue 12). Bad input is `validation_error`
 * with `details.field`. Image names are Docker-like references in lower case
 * (`team/tool:1.2`, `my-image`), at most 200 characters.
 */
import { Readable } from 'node:stream';
import { AppError } from './errors.js';

export const IMAGE_NAME = /^[a-z0-9][a-z0-9._-]*(?:\/[a-z0-9][a-z0-9._-]*)*(?::[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127})?$/;
export const IMAGE_NAME_MAX = 200;

export interface CommitImageCommand {
  name: string;
}

export function parseImageName(v: unknown, field = 'name'): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > IMAGE_NAME_MAX || !IMAGE_NAME.test(v) || /^sha256:/.test(v)) {
    throw new AppError('validation_error', `${field} must be an image name like team/tool:1.0 (lower case, at most ${IMAGE_NAME_MAX} characters)`, { field });
  }
  return v;
}

/** `POST /workspace/:id/image` `{ name }`. */
export function parseCommitImage(body: Record<string, unknown>): CommitImageCommand {
  return { name: parseImageName(body.name) };
}

export interface ImportPathCommand {
  path: string;
  name?: string;
}

/** `POST /images` `{ path, name? }`: an absolute path on the server. */
export function parseImportPath(body: Record<string, unknown>): ImportPathCommand {
  if (typeof body.path !== 'string' || !body.path.startsWith('/') || body.path.length > 4096 || body.path.includes('\0')) {
    throw new AppError('validation_error', 'path must be an absolute path on the server', { field: 'path' });
  }
  return { path: body.path, ...(body.name === undefined ? {} : { name: parseImageName(body.name) }) };
}

/** Body types an uploaded archive may come as. */
export const ARCHIVE_TYPES = ['application/x-tar', 'application/tar', 'application/octet-stream'];

/** `POST /images?name=N` with the archive as the body. */
export function parseImportUpload(contentType: string, name: string | undefined, body: ReadableStream<Uint8Array> | null):
  { name?: string; stream: Readable } {
  if (!ARCHIVE_TYPES.includes(contentType)) {
    throw new AppError('bad_request', `Send the archive as ${ARCHIVE_TYPES.join(', ')} or a JSON body { path }`, { field: 'content-type' });
  }
  if (!body) throw new AppError('validation_error', 'The archive is missing', { field: 'archive' });
  return { ...(name === undefined ? {} : { name: parseImageName(name) }), stream: Readable.fromWeb(body as never) };
}
