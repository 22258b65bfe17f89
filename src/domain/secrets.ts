/**
 * API-key secrets are stored only as `scrypt$<salt hex>$<hash hex>` (16-byte random
 * salt, 32-byte key, node's default scrypt cost N=16384 r=8 p=1). The cost is fixed by
 * this format: changing it needs a new prefix, not a silent change. Verification
 * compares in constant time. Server secrets kept in files (the signing keys) are
 * src/storage/secret-files.ts.
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

const SALT_BYTES = 16;
const KEY_BYTES = 32;
const PREFIX = 'scrypt';

function deriveKey(secret: string, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(secret, salt, KEY_BYTES, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/** Hashes `secret` with a fresh salt; the result is safe to store. */
export async function hashSecret(secret: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await deriveKey(secret, salt);
  return `${PREFIX}$${salt.toString('hex')}$${key.toString('hex')}`;
}

const STORED_FORMAT = /^scrypt\$([0-9a-f]{32})\$([0-9a-f]{64})$/;

/**
 * True when `secret` matches `stored`. A malformed `stored` value is simply a mismatch
 * (never an exception), so a corrupt row cannot be turned into an oracle or a crash.
 */
export async function verifySecret(secret: string, stored: string): Promise<boolean> {
  const m = STORED_FORMAT.exec(stored);
  if (m === null) return false;
  const expected = Buffer.from(m[2]!, 'hex');
  const actual = await deriveKey(secret, Buffer.from(m[1]!, 'hex'));
  return timingSafeEqual(actual, expected);
}
