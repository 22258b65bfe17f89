/**
 * The encoding half of Warren's DNS codec (decoding: dns-wire.ts): messages with
 * compressed owner names and CNAME targets, plus builders for the queries and
 * responses the resolver proxy and the tests' fake DNS server send. Unencodable
 * input (bad labels, over-long names, a non-IPv4 A address) throws `DnsWireError`.
 */
import { isIPv4 } from 'node:net';
import {
  CLASS_IN, DnsWireError, MAX_LABEL, MAX_NAME_WIRE, TYPE_A, TYPE_CNAME, normalizeName,
  type DnsHeader, type DnsMessage, type DnsQuestion, type DnsRecord,
} from './dns-wire.js';

/** Appends encoded pieces and remembers name suffix offsets for compression. */
class Writer {
  private readonly parts: Buffer[] = [];
  private length = 0;
  private readonly suffixes = new Map<string, number>();
  /** [offset, value] u16 fields to overwrite once the length of what follows is known. */
  private readonly patches: Array<[number, number]> = [];

  patchU16(at: number, value: number): void {
    this.patches.push([at, value]);
  }

  bytes(b: Buffer): void {
    this.parts.push(b);
    this.length += b.length;
  }

  u16(v: number): void {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(v & 0xffff);
    this.bytes(b);
  }

  u32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(v >>> 0);
    this.bytes(b);
  }

  get offset(): number { return this.length; }

  /** Writes `name`, replacing its longest already-written suffix by a pointer. */
  name(raw: string): void {
    const labels = splitName(raw);
    for (let i = 0; i < labels.length; i++) {
      const suffix = labels.slice(i).join('.');
      const known = this.suffixes.get(suffix);
      if (known !== undefined) return this.u16(0xc000 | known);
      if (this.offset < 0x4000) this.suffixes.set(suffix, this.offset);
      const label = Buffer.from(labels[i]!, 'latin1');
      this.bytes(Buffer.concat([Buffer.from([label.length]), label]));
    }
    this.bytes(Buffer.from([0]));
  }

  result(): Buffer {
    const out = Buffer.concat(this.parts, this.length);
    for (const [at, value] of this.patches) out.writeUInt16BE(value, at);
    return out;
  }
}

/** Validates and splits a text name into lowercase labels (root: []). */
function splitName(raw: string): string[] {
  const name = normalizeName(raw);
  if (name === '') return [];
  const labels = name.split('.');
  let wireLen = 1;
  for (const label of labels) {
    if (label.length === 0 || !/^[\x21-\x7e]+$/.test(label)) throw new DnsWireError('bad_label', `bad label in "${raw}"`);
    if (label.length > MAX_LABEL) throw new DnsWireError('label_too_long', `label longer than 63 bytes in "${raw}"`);
    wireLen += label.length + 1;
  }
  if (wireLen > MAX_NAME_WIRE) throw new DnsWireError('name_too_long', `name longer than 255 bytes: "${raw}"`);
  return labels;
}

function writeHeader(w: Writer, h: DnsHeader, counts: number[]): void {
  w.u16(h.id);
  const b2 = (h.qr ? 0x80 : 0) | ((h.opcode & 0x0f) << 3) | (h.aa ? 0x04 : 0) | (h.tc ? 0x02 : 0) | (h.rd ? 0x01 : 0);
  const b3 = (h.ra ? 0x80 : 0) | ((h.z & 0x07) << 4) | (h.rcode & 0x0f);
  w.bytes(Buffer.from([b2, b3]));
  for (const c of counts) w.u16(c);
}

function writeRdata(w: Writer, r: DnsRecord): void {
  if (r.type === TYPE_A && r.address !== undefined) {
    if (!isIPv4(r.address)) throw new DnsWireError('bad_input', `not an IPv4 address: ${r.address}`);
    w.u16(4);
    return w.bytes(Buffer.from(r.address.split('.').map(Number)));
  }
  if (r.type === TYPE_CNAME && r.target !== undefined) {
    const lengthAt = w.offset;
    w.u16(0); // RDLENGTH placeholder: the compressed target's length is known only after writing it
    const start = w.offset;
    w.name(r.target);
    return w.patchU16(lengthAt, w.offset - start);
  }
  w.u16(r.data.length);
  w.bytes(r.data);
}

/** Encodes a message (names compressed). Throws DnsWireError for unencodable input. */
export function encodeMessage(m: DnsMessage): Buffer {
  const w = new Writer();
  const records = [...m.answers, ...m.authorities, ...m.additionals];
  writeHeader(w, m.header, [m.questions.length, m.answers.length, m.authorities.length, m.additionals.length]);
  for (const q of m.questions) {
    w.name(q.name);
    w.u16(q.type);
    w.u16(q.class);
  }
  for (const r of records) {
    w.name(r.name);
    w.u16(r.type);
    w.u16(r.class);
    w.u32(r.ttl);
    writeRdata(w, r);
  }
  return w.result();
}

export interface QueryOptions {
  id: number;
  /** Recursion desired; default true. */
  rd?: boolean;
}

/** A standard query for one name and type, class IN. */
export function buildQuery(name: string, type: number, o: QueryOptions): Buffer {
  return encodeMessage({
    header: { id: o.id, qr: false, opcode: 0, aa: false, tc: false, rd: o.rd ?? true, ra: false, z: 0, rcode: 0 },
    questions: [{ name, type, class: CLASS_IN }],
    answers: [],
    authorities: [],
    additionals: [],
  });
}

export type AnswerSpec =
  | { name: string; type: 'A'; address: string; ttl: number }
  | { name: string; type: 'CNAME'; target: string; ttl: number };

export interface ResponseOptions {
  id: number;
  question?: DnsQuestion;
  rcode: number;
  answers?: AnswerSpec[];
  rd?: boolean;
  ra?: boolean;
  aa?: boolean;
  tc?: boolean;
}

function answerRecord(a: AnswerSpec): DnsRecord {
  const base = { name: a.name, class: CLASS_IN, ttl: a.ttl, data: Buffer.alloc(0) };
  return a.type === 'A' ? { ...base, type: TYPE_A, address: a.address } : { ...base, type: TYPE_CNAME, target: a.target };
}

/** A response echoing `question` (if any) with the given rcode and A/CNAME answers. */
export function buildResponse(o: ResponseOptions): Buffer {
  return encodeMessage({
    header: { id: o.id, qr: true, opcode: 0, aa: o.aa ?? false, tc: o.tc ?? false, rd: o.rd ?? true, ra: o.ra ?? true, z: 0, rcode: o.rcode },
    questions: o.question ? [o.question] : [],
    answers: (o.answers ?? []).map(answerRecord),
    authorities: [],
    additionals: [],
  });
}
