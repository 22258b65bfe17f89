/**
 * SHA-512 crypt (`$6$`, Ulrich Drepper's "Unix crypt using SHA-256 and SHA-512", the
 * scheme glibc's crypt(3) reads from /etc/shadow). The host computes the hash of a
 * workspace's SSH password, so the password itself never leaves the host; the agent
 * writes only the hash into the workspace's /etc/shadow.
 *
 * Contract: `sha512Crypt(password, salt)` equals glibc's `crypt(password, "$6$" + salt)`
 * for salts of the crypt alphabet (at most 16 characters are used) and the default
 * 5000 rounds; `rounds` other than 5000 produce the `rounds=N$` form.
 */
import { createHash, randomBytes } from 'node:crypto';

const ALPHABET = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const DEFAULT_ROUNDS = 5000;
const MIN_ROUNDS = 1000;
const MAX_ROUNDS = 999_999_999;
/** The byte order in which the final digest is written out, three bytes per group. */
const ORDER: ReadonlyArray<readonly [number, number, number]> = [
  [0, 21, 42], [22, 43, 1], [44, 2, 23], [3, 24, 45], [25, 46, 4], [47, 5, 26], [6, 27, 48], [28, 49, 7],
  [50, 8, 29], [9, 30, 51], [31, 52, 10], [53, 11, 32], [12, 33, 54], [34, 55, 13], [56, 14, 35], [15, 36, 57],
  [37, 58, 16], [59, 17, 38], [18, 39, 60], [40, 61, 19], [62, 20, 41],
];

/** A hash in the form /etc/shadow holds for `$6$` with default rounds. */
export const SHA512_CRYPT_HASH = /^\$6\$[./0-9A-Za-z]{1,16}\$[./0-9A-Za-z]{86}$/;

function sha512(...parts: Buffer[]): Buffer {
  const h = createHash('sha512');
  for (const p of parts) h.update(p);
  return h.digest();
}

/** `len` bytes of `digest` repeated (the spec's "sequence P/S"). */
function repeatTo(digest: Buffer, len: number): Buffer {
  const out = Buffer.alloc(len);
  for (let i = 0; i < len; i += digest.length) digest.copy(out, i, 0, Math.min(digest.length, len - i));
  return out;
}

function encode64(b2: number, b1: number, b0: number, n: number): string {
  let w = (b2 << 16) | (b1 << 8) | b0;
  let out = '';
  for (let i = 0; i < n; i++) {
    out += ALPHABET[w & 0x3f];
    w >>>= 6;
  }
  return out;
}

function finalDigest(pw: Buffer, salt: Buffer, rounds: number): Buffer {
  const b = sha512(pw, salt, pw);
  const a = createHash('sha512').update(pw).update(salt).update(repeatTo(b, pw.length));
  for (let n = pw.length; n > 0; n >>= 1) a.update(n & 1 ? b : pw);
  let c = a.digest();
  const p = repeatTo(sha512(...Array<Buffer>(pw.length).fill(pw)), pw.length);
  const s = repeatTo(sha512(...Array<Buffer>(16 + c[0]!).fill(salt)), salt.length);
  for (let i = 0; i < rounds; i++) {
    const h = createHash('sha512');
    h.update(i & 1 ? p : c);
    if (i % 3) h.update(s);
    if (i % 7) h.update(p);
    h.update(i & 1 ? c : p);
    c = h.digest();
  }
  return c;
}

/** glibc-compatible `$6$` hash of `password` with `salt` (crypt alphabet, first 16 characters). */
export function sha512Crypt(password: string, salt: string, rounds = DEFAULT_ROUNDS): string {
  const r = Math.min(MAX_ROUNDS, Math.max(MIN_ROUNDS, Math.floor(rounds)));
  const saltText = salt.slice(0, 16);
  const c = finalDigest(Buffer.from(password, 'utf8'), Buffer.from(saltText, 'utf8'), r);
  let out = '';
  for (const [i, j, k] of ORDER) out += encode64(c[i]!, c[j]!, c[k]!, 4);
  out += encode64(0, 0, c[63]!, 2);
  const prefix = r === DEFAULT_ROUNDS && rounds === DEFAULT_ROUNDS ? '$6$' : `$6$rounds=${r}$`;
  return `${prefix}${saltText}$${out}`;
}

/** A fresh 16-character salt of the crypt alphabet. */
export function randomSalt(): string {
  return [...randomBytes(16)].map((b) => ALPHABET[b & 0x3f]).join('');
}
