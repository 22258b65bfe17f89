/**
 * Signed node tokens: how a control-plane replica proves to a node's relay that it may
 * open one tunnel to one sandbox address, for one purpose, for a short while. A node
 * never trusts a caller by its address; it trusts a token signed with the cluster key.
 *
 * Wire form: `wn1.<kid>.<payload>.<signature>`, payload and signature base64url;
 * the signature is HMAC-SHA256 over `wn1.<kid>.<payload>` with the key named by kid.
 * The payload (compact JSON) binds the node id, the exact target `ip:port`, the purpose,
 * the caller (the signing replica's id, for per-caller caps), the expiry and a nonce.
 *
 * Keys rotate: the signer uses one key; the verifier holds a set by kid, so tokens
 * signed with the previous key keep verifying until that key is retired (removed).
 * Where the keys come from (32 random bytes shared by the cluster) is the composition
 * root's business.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export type NodePurpose = 'agent' | 'ssh' | 'edge' | 'api';
const PURPOSES: ReadonlySet<string> = new Set<NodePurpose>(['agent', 'ssh', 'edge', 'api']);

export interface NodeKey {
  /** Key id: short, [A-Za-z0-9_-]. */
  kid: string;
  /** 32 random bytes. */
  key: Buffer;
}

export interface NodeTokenClaims {
  nodeId: string;
  /** `ip:port`, exactly as the tunnel will name it. */
  target: string;
  purpose: NodePurpose;
  /** Who signed (a replica id); labels the caller for per-caller caps. */
  caller: string;
  /** Expiry, epoch ms. */
  expiresAt: number;
  nonce: string;
}

export type VerifyFailure = 'malformed' | 'unknown_kid' | 'bad_signature' | 'expired' | 'wrong_node' | 'wrong_target';
export type VerifyResult = { ok: true; claims: NodeTokenClaims } | { ok: false; reason: VerifyFailure };

export const TOKEN_PREFIX = 'wn1';
/** Default token lifetime: long enough to open one tunnel, short enough that a leaked one is soon useless. */
export const NODE_TOKEN_TTL_MS = 60_000;
/** Tokens signed a little in the future (clock skew between hosts) are still accepted, up to this. */
const MAX_SKEW_MS = 5_000;
const KID = /^[A-Za-z0-9_-]{1,32}$/;
const MAX_TOKEN_CHARS = 1024;

/** A fresh random cluster key (32 bytes). */
export function generateNodeKey(kid: string): NodeKey {
  return { kid, key: randomBytes(32) };
}

function checkKey(k: NodeKey): void {
  if (!KID.test(k.kid)) throw new Error(`node key id must match ${KID}`);
  if (k.key.length < 32) throw new Error('node key must be at least 32 bytes');
}

function mac(key: Buffer, signed: string): Buffer {
  return createHmac('sha256', key).update(signed).digest();
}

export class NodeTokenSigner {
  constructor(
    private readonly key: NodeKey,
    private readonly caller: string,
    private readonly ttlMs = NODE_TOKEN_TTL_MS,
    private readonly now: () => number = Date.now,
  ) {
    checkKey(key);
  }

  sign(nodeId: string, target: string, purpose: NodePurpose): string {
    const payload = {
      n: nodeId, t: target, p: purpose, c: this.caller,
      e: this.now() + this.ttlMs, j: randomBytes(12).toString('base64url'),
    };
    const signed = `${TOKEN_PREFIX}.${this.key.kid}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
    return `${signed}.${mac(this.key.key, signed).toString('base64url')}`;
  }
}

export class NodeTokenVerifier {
  private readonly keys = new Map<string, Buffer>();

  constructor(keys: readonly NodeKey[], private readonly now: () => number = Date.now) {
    for (const k of keys) this.addKey(k);
  }

  addKey(k: NodeKey): void {
    checkKey(k);
    this.keys.set(k.kid, k.key);
  }

  /** Tokens signed with this key no longer verify. */
  retireKey(kid: string): void {
    this.keys.delete(kid);
  }

  /** Checks signature, expiry, this node's id and the exact target; never throws. */
  verify(token: string, expect: { nodeId: string; target: string }): VerifyResult {
    if (token.length > MAX_TOKEN_CHARS) return { ok: false, reason: 'malformed' };
    const parts = token.split('.');
    if (parts.length !== 4 || parts[0] !== TOKEN_PREFIX) return { ok: false, reason: 'malformed' };
    const [, kid, payloadText, sigText] = parts as [string, string, string, string];
    const key = this.keys.get(kid);
    if (!key) return { ok: false, reason: 'unknown_kid' };
    const expected = mac(key, `${TOKEN_PREFIX}.${kid}.${payloadText}`);
    const given = Buffer.from(sigText, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'bad_signature' };
    const claims = parseClaims(payloadText);
    if (!claims) return { ok: false, reason: 'malformed' };
    const now = this.now();
    if (claims.expiresAt <= now) return { ok: false, reason: 'expired' };
    if (claims.expiresAt > now + NODE_TOKEN_TTL_MS * 10 + MAX_SKEW_MS) return { ok: false, reason: 'malformed' };
    if (claims.nodeId !== expect.nodeId) return { ok: false, reason: 'wrong_node' };
    if (claims.target !== expect.target) return { ok: false, reason: 'wrong_target' };
    return { ok: true, claims };
  }
}

/** The signed payload, or null when any field is missing or of the wrong type. */
function parseClaims(text: string): NodeTokenClaims | null {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  if (!v || typeof v !== 'object') return null;
  const o = v as Record<string, unknown>;
  const str = (x: unknown): x is string => typeof x === 'string' && x.length > 0 && x.length <= 128;
  if (!str(o.n) || !str(o.t) || !str(o.c) || !str(o.j) || typeof o.e !== 'number' || !Number.isFinite(o.e)) return null;
  if (typeof o.p !== 'string' || !PURPOSES.has(o.p)) return null;
  return { nodeId: o.n, target: o.t, purpose: o.p as NodePurpose, caller: o.c, expiresAt: o.e, nonce: o.j };
}
