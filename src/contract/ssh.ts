/**
 * SSH request bodies (control-plane.md §7): `POST /workspace/:id/ssh/password`
 * `{ password, user? }` and `POST /workspace/:id/ssh/key` `{ public_key, user? }`.
 * Bad input is `validation_error` with `details.field`. Only `root` can log in (a
 * Linux workspace's login account); the key is one OpenSSH public key line of a known
 * type, parsed by ssh2, and written back in a normal form (type, base64, cleaned
 * comment) so nothing else — options such as `command=`, a second line — can reach
 * the workspace's authorized_keys.
 */
import { z } from 'zod';
import ssh2 from 'ssh2';
import { AppError } from './errors.js';

export const SSH_PASSWORD_MIN = 8;
export const SSH_PASSWORD_MAX = 128;
export const SSH_USER = 'root';
/** Key types the workspace's sshd accepts and ssh2 parses (no DSA, no security-key types). */
export const SSH_KEY_TYPES = ['ssh-ed25519', 'ssh-rsa', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521'] as const;
const MAX_KEY_LINE = 16 * 1024;
const MAX_COMMENT = 256;

export interface SetSshPasswordCommand {
  password: string;
  user: typeof SSH_USER;
}

export interface SetSshKeyCommand {
  /** `<type> <base64>[ <comment>]`, one line. */
  publicKey: string;
  user: typeof SSH_USER;
}

const user = z.string().optional().refine((u) => u === undefined || u === SSH_USER, {
  message: `user must be "${SSH_USER}" (the workspace's login account)`,
});

export const sshPasswordSchema = z.object({
  password: z.string({ error: 'password must be a string' })
    .min(SSH_PASSWORD_MIN, `password must be ${SSH_PASSWORD_MIN}–${SSH_PASSWORD_MAX} characters`)
    .max(SSH_PASSWORD_MAX, `password must be ${SSH_PASSWORD_MIN}–${SSH_PASSWORD_MAX} characters`)
    // eslint-disable-next-line no-control-regex
    .refine((p) => !/[\u0000-\u001f\u007f]/.test(p), 'password must not contain control characters'),
  user,
});

export const sshKeySchema = z.object({
  public_key: z.string({ error: 'public_key must be a string' }).max(MAX_KEY_LINE, 'public_key is too long'),
  user,
});

function failFrom(err: z.ZodError): never {
  const issue = err.issues[0];
  const field = issue && issue.path.length > 0 ? issue.path.join('.') : 'body';
  throw new AppError('validation_error', issue?.message ?? 'Invalid request body', { field });
}

function object(body: unknown): Record<string, unknown> {
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    throw new AppError('validation_error', 'Request body must be a JSON object', { field: 'body' });
  }
  return body as Record<string, unknown>;
}

export function parseSshPassword(body: unknown): SetSshPasswordCommand {
  const r = sshPasswordSchema.safeParse(object(body));
  if (!r.success) failFrom(r.error);
  return { password: r.data.password, user: SSH_USER };
}

export function parseSshKey(body: unknown): SetSshKeyCommand {
  const r = sshKeySchema.safeParse(object(body));
  if (!r.success) failFrom(r.error);
  return { publicKey: normalisePublicKey(r.data.public_key), user: SSH_USER };
}

/** One OpenSSH public key line in normal form, or `validation_error` on `public_key`. */
export function normalisePublicKey(text: string): string {
  const bad = (message: string): never => {
    throw new AppError('validation_error', message, { field: 'public_key' });
  };
  const line = text.trim();
  if (line === '' || /[\r\n\0]/.test(line)) bad('public_key must be one OpenSSH public key line');
  const [type, blob, ...rest] = line.split(/\s+/);
  if (!(SSH_KEY_TYPES as readonly string[]).includes(type ?? '')) {
    bad(`public_key must start with a key type: ${SSH_KEY_TYPES.join(', ')}`);
  }
  const parsed = ssh2.utils.parseKey(line);
  if (parsed instanceof Error || Array.isArray(parsed) || parsed.isPrivateKey() || parsed.type !== type) {
    bad('public_key is not a valid OpenSSH public key');
  }
  const key = parsed as ssh2.ParsedKey;
  if (key.getPublicSSH().toString('base64') !== blob) bad('public_key is not a valid OpenSSH public key');
  const comment = rest.join(' ').replace(/[^\x20-\x7e]/g, '').slice(0, MAX_COMMENT).trim();
  return comment ? `${type} ${blob} ${comment}` : `${type} ${blob}`;
}
