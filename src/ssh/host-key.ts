/**
 * SSH host keys made by Warren (ed25519, OpenSSH private key format, from ssh2).
 * `loadOrCreateHostKeyFile` keeps the jump host's key in a 0600 file of the data dir,
 * created once (temp file + link(2), so the name only ever appears complete and two
 * starters agree) and reused on every start: clients see the same jump host key.
 */
import { readFileSync } from 'node:fs';
import ssh2 from 'ssh2';
import { createFileOnce, replaceFile } from '../storage/secret-files.js';

export interface HostKeyPair {
  /** OpenSSH private key text. */
  private: string;
  /** `ssh-ed25519 AAAA…` */
  public: string;
}

/** Generation attempts before giving up; each fails with probability ≈ 1/256 (see below). */
const MAX_ATTEMPTS = 16;

/**
 * A fresh ed25519 host key that both ssh2 and OpenSSH can load.
 *
 * Why the retry: ssh2 (1.17) drops a leading zero byte of the 32-byte public key when it
 * writes the OpenSSH encoding, so about one key in 256 comes out 31 bytes long and neither
 * ssh2 ("Malformed OpenSSH private key") nor sshd can read it back. Such a key is discarded.
 */
export function generateHostKey(): HostKeyPair {
  for (let i = 0; i < MAX_ATTEMPTS; i++) {
    const k = ssh2.utils.generateKeyPairSync('ed25519');
    if (isLoadableHostKey(k.private)) return { private: k.private, public: k.public };
  }
  throw new Error('could not generate a loadable ed25519 host key');
}

/** True when `text` is an OpenSSH private key ssh2 can parse, with a 32-byte ed25519 public part. */
export function isLoadableHostKey(text: string): boolean {
  const parsed = ssh2.utils.parseKey(text);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || key instanceof Error) return false;
  // the SSH wire form of an ed25519 public key: string "ssh-ed25519" (4 + 11) + string key (4 + 32)
  return key.type !== 'ssh-ed25519' || key.getPublicSSH().length === 4 + 11 + 4 + 32;
}

/**
 * The jump host's key at `path`, made on first use. A file that holds a key no SSH server could
 * load (written by an earlier Warren with the ssh2 fault above) is replaced by a fresh key:
 * the old key was never served, so no client can have learned it.
 */
export function loadOrCreateHostKeyFile(path: string): string {
  let existing: string | null = null;
  try {
    existing = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (existing !== null) {
    if (isLoadableHostKey(existing)) return existing;
    const key = generateHostKey().private;
    replaceFile(path, key);
    return key;
  }
  const key = generateHostKey().private;
  return createFileOnce(path, key) ? key : readFileSync(path, 'utf8'); // lost a race: the winner's key
}
