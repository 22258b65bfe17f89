/**
 * An OCI `User` (`name`, `uid`, `name:group`, `uid:gid`) as numeric ids, looked up in the
 * workspace's own /etc/passwd and /etc/group (the agent runs inside it). A numeric uid
 * without an entry is valid (gid 0 then, as runc does); an unknown name is not.
 */
import { readFileSync } from 'node:fs';

export interface ResolvedUser {
  uid: number;
  gid: number;
  /** The passwd entry's home directory, when there is one. */
  home?: string;
}

function table(path: string): string[][] {
  try {
    return readFileSync(path, 'utf8').split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(':'));
  } catch {
    return [];
  }
}

const NUMERIC = /^\d+$/;

/** A user or group the image does not define; its message names only the caller's spec. */
export class UserLookupError extends Error {}

/** Throws a UserLookupError with a readable message when a name is not found. */
export function resolveUser(spec: string, etc = '/etc'): ResolvedUser {
  const [userPart = '', groupPart] = spec.split(':');
  const passwd = table(`${etc}/passwd`);
  const entry = passwd.find((p) => (NUMERIC.test(userPart) ? p[2] === userPart : p[0] === userPart));
  if (!entry && !NUMERIC.test(userPart)) throw new UserLookupError(`user ${userPart} is not in the image's /etc/passwd`);
  const uid = entry ? Number(entry[2]) : Number(userPart);
  let gid = entry ? Number(entry[3]) : 0;
  if (groupPart !== undefined && groupPart !== '') {
    if (NUMERIC.test(groupPart)) gid = Number(groupPart);
    else {
      const g = table(`${etc}/group`).find((row) => row[0] === groupPart);
      if (!g) throw new UserLookupError(`group ${groupPart} is not in the image's /etc/group`);
      gid = Number(g[2]);
    }
  }
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) throw new UserLookupError(`user ${spec} has no numeric ids`);
  return { uid, gid, ...(entry?.[5] ? { home: entry[5] } : {}) };
}
