/**
 * SSH host keys made by Warren (ed25519, OpenSSH private key format, from ssh2).
 * `loadOrCreateHostKeyFile` keeps the jump host's key in a 0600 file of the data dir,
 * created once (temp file + link(2), so the name only ever appears complete and two
 * starters agree) and reused on every start: clients see the same jump host key.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, constants as fs, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import ssh2 from 'ssh2';

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
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const key = generateHostKey().private;
  const fd = openSync(tmp, fs.O_CREAT | fs.O_EXCL | fs.O_WRONLY, 0o600);
  try {
    writeSync(fd, key);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(tmp, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return readFileSync(path, 'utf8');
  } finally {
    unlinkSync(tmp);
  }
  return key;
}
