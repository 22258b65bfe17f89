/**
 * Finds operator-only text in an error response: host paths, tool names, stack frames
 * and private addresses (issue 15, error hygiene). Used by test/e2e/error-hygiene.test.ts
 * over the errors it provokes, and callable over any recorded response body:
 *
 *   const hits = findLeaks(body, { dataDirs: [server.dataDir], allow: ['/srv/app/x'] });
 *
 * `allow` holds text the caller itself sent or owns (a path it asked for inside its
 * workspace, its workspace's own address): it is cut out before the scan, so an error
 * that echoes the caller's own input is not a leak.
 */

export interface LeakOptions {
  /** The server's data (and images) dirs: never to appear in a response. */
  dataDirs?: string[];
  /** Substrings the caller sent or owns, removed before scanning. */
  allow?: string[];
}

interface Rule {
  name: string;
  pattern: RegExp;
}

const RULES: Rule[] = [
  // Host paths. A workspace's own /tmp or /var is the caller's; tests pass such paths in `allow`.
  { name: 'host path', pattern: /(?:^|[^\w.-])\/(?:var|tmp|proc|sys|run|dev\/shm)\/[^\s"']*/ },
  { name: 'warren runtime path', pattern: /\/\.warren\/|warren-e2e-|\.warren-upload-/ },
  // Tools Warren runs on the host or in the workspace for itself.
  { name: 'tool name', pattern: /\b(?:nft|nftables|bwrap|bubblewrap|skopeo|umoci|debootstrap|conntrack|iptables|mount|umount|losetup|patchelf|execvp|node-pty|ripgrep|rg:|tar:|gzip:)(?=$|[^\w-])/i },
  { name: 'ip command', pattern: /\bip (?:-\w+ )*(?:addr|address|link|netns|route|rule|neigh)\b/ },
  { name: 'node internals', pattern: /\bnode:[a-z_]+|\bERR_[A-Z_]{3,}\b|\bNodeError\b/ },
  // Stack frames: `at fn (/path/file.js:1:2)` or `at file:///…`.
  { name: 'stack frame', pattern: /\bat (?:[\w$.<>[\] ]+ )?\(?(?:file:\/\/|\/)[^\s)]*\.(?:m?js|ts):\d+/ },
  { name: 'stack frame', pattern: /\.(?:m?js|ts):\d+:\d+/ },
  // SQL and JS runtime text.
  { name: 'sql', pattern: /\bSQLITE_[A-Z_]+|\bUNIQUE constraint failed\b/ },
  { name: 'js error text', pattern: /\bCannot read propert(?:y|ies) of|\bis not a function\b|\bTypeError\b|\bReferenceError\b/ },
  // Private IPv4 addresses (RFC 1918).
  { name: 'private address', pattern: /\b(?:10\.\d{1,3}\.\d{1,3}\.\d{1,3}|172\.(?:1[6-9]|2\d|3[01])\.\d{1,3}\.\d{1,3}|192\.168\.\d{1,3}\.\d{1,3})\b/ },
];

function textOf(body: unknown): string {
  if (typeof body === 'string') return body;
  if (Buffer.isBuffer(body)) return body.toString('utf8');
  return JSON.stringify(body) ?? '';
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Each leak found as `"<rule>: <matched text>"`; an empty list means the body is clean. */
export function findLeaks(body: unknown, opts: LeakOptions = {}): string[] {
  let text = textOf(body);
  const allowed = (opts.allow ?? []).filter((s) => s.length > 0).sort((a, b) => b.length - a.length);
  for (const s of allowed) text = text.replace(new RegExp(escapeRegExp(s), 'g'), '«allowed»');
  const hits: string[] = [];
  for (const dir of opts.dataDirs ?? []) {
    if (dir && text.includes(dir)) hits.push(`data dir: ${dir}`);
  }
  for (const rule of RULES) {
    const m = rule.pattern.exec(text);
    if (m) hits.push(`${rule.name}: ${m[0].trim().slice(0, 120)}`);
  }
  return hits;
}

/** One provoked error response, as a leak report names it. */
export interface ErrorSample {
  what: string;
  status: number;
  body: unknown;
  allow?: string[];
}

/** Every sample's leaks, as lines `"<what> (<status>): <hit>"`. */
export function leakReport(samples: ErrorSample[], opts: LeakOptions = {}): string[] {
  return samples.flatMap((s) =>
    findLeaks(s.body, { ...opts, allow: [...(opts.allow ?? []), ...(s.allow ?? [])] }).map((h) => `${s.what} (${s.status}): ${h}`));
}
