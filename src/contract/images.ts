/**
 * Image request bodies (Warren extension, issue 12). Bad input is `validation_error`
 * with `details.field`. Image names are Docker-like references in lower case
 * (`team/tool:1.2`, `my-image`), at most 200 characters.
 */
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
