/**
 * A small, strict DNS message codec (RFC 1035 §4) for Warren's resolver proxy.
 *
 * Contracts:
 * - `parseMessage` either returns a fully decoded message or throws `DnsWireError`;
 *   it never loops forever and never reads outside the buffer. Compression pointers
 *   must point strictly backwards of every offset already visited for that name, so
 *   a pointer loop is impossible by construction (and reported as `pointer_loop`).
 * - Names are returned normalised: ASCII lowercase, labels joined by '.', no trailing
 *   dot; the root name is ''. Labels are restricted to printable ASCII without '.'
 *   (anything else is rejected rather than escaped).
 * - Only A (decoded to a dotted quad) and CNAME (target decoded) RDATA are decoded;
 *   every record keeps its raw RDATA in `data`.
 * - The encoder (dns-encode.ts) compresses owner names and CNAME targets.
 */

export const TYPE_A = 1;
export const TYPE_CNAME = 5;
export const TYPE_AAAA = 28;
export const TYPE_OPT = 41;
export const CLASS_IN = 1;

export const RCODE_NOERROR = 0;
export const RCODE_FORMERR = 1;
export const RCODE_SERVFAIL = 2;
export const RCODE_NXDOMAIN = 3;
export const RCODE_NOTIMP = 4;
export const RCODE_REFUSED = 5;

export const MAX_NAME_WIRE = 255; // RFC 1035 §2.3.4: length bytes + labels + final zero
export const MAX_LABEL = 63;
const HEADER_LEN = 12;

export type DnsWireErrorCode = 'truncated' | 'pointer_loop' | 'bad_pointer' | 'label_too_long' | 'name_too_long' | 'bad_label' | 'bad_rdata' | 'trailing_bytes' | 'bad_input';

/** The only error type the codec throws. */
export class DnsWireError extends Error {
  constructor(readonly code: DnsWireErrorCode, message: string) {
    super(message);
    this.name = 'DnsWireError';
  }
}

export interface DnsHeader {
  id: number;
  qr: boolean;
  opcode: number;
  aa: boolean;
  tc: boolean;
  rd: boolean;
  ra: boolean;
  /** The three Z/AD/CD bits, kept verbatim. */
  z: number;
  rcode: number;
}

export interface DnsQuestion {
  name: string;
  type: number;
  class: number;
}

export interface DnsRecord {
  name: string;
  type: number;
  class: number;
  ttl: number;
  /** Raw RDATA (for CNAME: possibly containing compression pointers into the message). */
  data: Buffer;
  /** Type A: the dotted quad. */
  address?: string;
  /** Type CNAME: the normalised target name. */
  target?: string;
}

export interface DnsMessage {
  header: DnsHeader;
  questions: DnsQuestion[];
  answers: DnsRecord[];
  authorities: DnsRecord[];
  additionals: DnsRecord[];
}

/** Lowercase, trailing dot removed: the one comparable form of a name. */
export function normalizeName(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

// ---------------------------------------------------------------- decoding

function need(buf: Buffer, offset: number, len: number): void {
  if (offset + len > buf.length) throw new DnsWireError('truncated', `message truncated at offset ${offset}`);
}

function decodeLabel(buf: Buffer, start: number, len: number): string {
  for (let i = start; i < start + len; i++) {
    const byte = buf[i]!;
    if (byte < 0x21 || byte > 0x7e || byte === 0x2e) {
      throw new DnsWireError('bad_label', `unsupported byte 0x${byte.toString(16)} in label`);
    }
  }
  return buf.toString('latin1', start, start + len).toLowerCase();
}

/** Reads a (possibly compressed) name at `offset`; returns it and the offset after it. */
export function readName(buf: Buffer, offset: number): { name: string; next: number } {
  const labels: string[] = [];
  let pos = offset;
  let lowest = offset; // every pointer must jump strictly below this
  let next = -1; // offset after the name in the original position, set at the first jump
  let wireLen = 1;
  for (;;) {
    need(buf, pos, 1);
    const len = buf[pos]!;
    if (len === 0) break;
    const kind = len & 0xc0;
    if (kind === 0xc0) {
      need(buf, pos, 2);
      const target = ((len & 0x3f) << 8) | buf[pos + 1]!;
      if (target < HEADER_LEN) throw new DnsWireError('bad_pointer', `compression pointer at ${pos} points into the header`);
      if (target >= lowest) throw new DnsWireError('pointer_loop', `compression pointer at ${pos} does not point backwards`);
      if (next < 0) next = pos + 2;
      lowest = target;
      pos = target;
      continue;
    }
    if (kind !== 0) throw new DnsWireError('label_too_long', `label length byte 0x${len.toString(16)} at ${pos}`);
    need(buf, pos + 1, len);
    wireLen += len + 1;
    if (wireLen > MAX_NAME_WIRE) throw new DnsWireError('name_too_long', 'name longer than 255 bytes');
    labels.push(decodeLabel(buf, pos + 1, len));
    pos += len + 1;
  }
  return { name: labels.join('.'), next: next < 0 ? pos + 1 : next };
}

function readHeader(buf: Buffer): DnsHeader {
  need(buf, 0, HEADER_LEN);
  const b2 = buf[2]!;
  const b3 = buf[3]!;
  return {
    id: buf.readUInt16BE(0),
    qr: (b2 & 0x80) !== 0,
    opcode: (b2 >> 3) & 0x0f,
    aa: (b2 & 0x04) !== 0,
    tc: (b2 & 0x02) !== 0,
    rd: (b2 & 0x01) !== 0,
    ra: (b3 & 0x80) !== 0,
    z: (b3 >> 4) & 0x07,
    rcode: b3 & 0x0f,
  };
}

function readQuestion(buf: Buffer, offset: number): { question: DnsQuestion; next: number } {
  const { name, next } = readName(buf, offset);
  need(buf, next, 4);
  return { question: { name, type: buf.readUInt16BE(next), class: buf.readUInt16BE(next + 2) }, next: next + 4 };
}

function decodeRdata(buf: Buffer, record: DnsRecord, start: number, end: number): void {
  if (record.type === TYPE_A && record.class === CLASS_IN) {
    if (end - start !== 4) throw new DnsWireError('bad_rdata', 'A record RDATA is not 4 bytes');
    record.address = [...buf.subarray(start, end)].join('.');
  } else if (record.type === TYPE_CNAME) {
    const { name, next } = readName(buf, start);
    if (next !== end) throw new DnsWireError('bad_rdata', 'CNAME RDATA length does not match its name');
    record.target = name;
  }
}

function readRecord(buf: Buffer, offset: number): { record: DnsRecord; next: number } {
  const { name, next: afterName } = readName(buf, offset);
  need(buf, afterName, 10);
  const rdlength = buf.readUInt16BE(afterName + 8);
  const start = afterName + 10;
  need(buf, start, rdlength);
  const record: DnsRecord = {
    name,
    type: buf.readUInt16BE(afterName),
    class: buf.readUInt16BE(afterName + 2),
    ttl: buf.readUInt32BE(afterName + 4),
    data: Buffer.from(buf.subarray(start, start + rdlength)),
  };
  decodeRdata(buf, record, start, start + rdlength);
  return { record, next: start + rdlength };
}

/** Decodes a whole message; throws DnsWireError on any malformation, including trailing bytes. */
export function parseMessage(buf: Buffer): DnsMessage {
  const header = readHeader(buf);
  const counts = [4, 6, 8, 10].map((at) => buf.readUInt16BE(at));
  let pos = HEADER_LEN;
  const questions: DnsQuestion[] = [];
  for (let i = 0; i < counts[0]!; i++) {
    const { question, next } = readQuestion(buf, pos);
    questions.push(question);
    pos = next;
  }
  const sections: DnsRecord[][] = [[], [], []];
  for (let s = 0; s < 3; s++) {
    for (let i = 0; i < counts[s + 1]!; i++) {
      const { record, next } = readRecord(buf, pos);
      sections[s]!.push(record);
      pos = next;
    }
  }
  if (pos !== buf.length) throw new DnsWireError('trailing_bytes', `${buf.length - pos} bytes after the last record`);
  return { header, questions, answers: sections[0]!, authorities: sections[1]!, additionals: sections[2]! };
}

/**
 * The A addresses that answer `name`: follows the CNAME chain inside `answers`
 * (bounded by the number of records, so a CNAME loop ends) and returns the A records
 * of the final owner name. Owner names compare case-insensitively.
 */
export function addressesFor(name: string, answers: DnsRecord[]): DnsRecord[] {
  let owner = normalizeName(name);
  for (let hops = 0; hops <= answers.length; hops++) {
    const cname = answers.find((r) => r.type === TYPE_CNAME && r.name === owner && r.target !== undefined);
    if (!cname) break;
    owner = cname.target!;
  }
  return answers.filter((r) => r.type === TYPE_A && r.class === CLASS_IN && r.name === owner && r.address !== undefined);
}

/** The UDP payload size the sender of `m` accepts: its EDNS OPT class, at least 512. */
export function udpPayloadLimit(m: DnsMessage): number {
  const opt = m.additionals.find((r) => r.type === TYPE_OPT);
  return Math.max(512, opt ? opt.class : 512);
}

/** A client's query, or null for anything else (malformed, or a response). */
export function parseQuery(buf: Buffer): DnsMessage | null {
  try {
    const msg = parseMessage(buf);
    return msg.header.qr ? null : msg;
  } catch {
    return null;
  }
}
