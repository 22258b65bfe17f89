/**
 * SSH host keys made by Warren (ed25519, OpenSSH private key format, from ssh2).
 * `loadOrCreateHostKeyFile` keeps the jump host's key in a 0600 file of the data dir,
 * created once (temp file + link(2), so the name only ever appears complete and two
 * starters agree) and reused on every start: clients see the same jump host key.
 */
import { readFileSync } from 'node:fs';
import ssh2 from 'ssh2';
import { createFileOnce } from '../domain/secrets.js';

export interface HostKeyPair {
  /** OpenSSH private key text. */
  private: string;
  /** `ssh-ed25519 AAAA…` */
  public: string;
}

export function generateHostKey(): HostKeyPair {
  const k = ssh2.utils.generateKeyPairSync('ed25519');
  return { private: k.private, public: k.public };
}

export function loadOrCreateHostKeyFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const key = generateHostKey().private;
  return createFileOnce(path, key) ? key : readFileSync(path, 'utf8'); // lost a race: the winner's key
}
