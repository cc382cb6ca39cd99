/**
 * Structure of a DNS response as it will be split into a cache entry: header, the question
 * (which the XDP program replaces with the query's own bytes), and the tail (every record
 * after the question), with each compression pointer in the tail checked against what the
 * program guarantees.
 *
 * The pointer rule. The program answers a query whose lower-cased question equals the cached
 * one, so the query's question has the same length and the same label boundaries; only the
 * case of letters may differ (0x20). The tail sits at the same offset as in BIND's message.
 * A pointer in the tail is therefore valid in every reply the program builds exactly when its
 * target is
 *   - the start of a label of the question name (offsets 12 .. 12+nameLen-1 on a label
 *     boundary): the name there decodes to the same labels, in the query's case, as BIND's own
 *     reply would have echoed; or
 *   - a position in the tail before the pointer itself, where a name decodes under this same
 *     rule (strictly backwards, so no loops).
 * Anything else (the header, qtype/qclass, the middle of a label, forward pointers) is refused:
 * such a message cannot be cached, whatever a client might make of it.
 *
 * Names inside RDATA are checked for the types whose RDATA may be compressed when received
 * (RFC 1035 types and those RFC 3597 section 4 lists). RFC 3597 forbids compressing names in
 * any other type, and BIND does not, so their RDATA is opaque bytes here.
 */
import { wireNameLabels } from './dns-wire';

export const HEADER_SIZE = 12;
const TYPE_OPT = 41;
const TYPE_SIG = 24;
const TYPE_TSIG = 250;

export class ReplyLayoutError extends Error {
  constructor(problem: string, offset?: number) {
    super(offset === undefined ? `DNS reply: ${problem}` : `DNS reply, byte ${offset}: ${problem}`);
    this.name = 'ReplyLayoutError';
  }
}

export type Section = 'answer' | 'authority' | 'additional';

export interface RecordLayout {
  section: Section;
  offset: number;
  type: number;
  klass: number;
  rdataOffset: number;
  rdlength: number;
}

export interface OptLayout {
  offset: number;
  udpSize: number;
  extendedRcode: number;
  version: number;
  dnssecOk: boolean;
  rdlength: number;
}

export interface ReplyLayout {
  id: number;
  /** Header bytes 2..3 as a big-endian number. */
  flags: number;
  qdcount: number;
  ancount: number;
  nscount: number;
  arcount: number;
  /** Wire length of the question name, root label included. */
  nameLength: number;
  /** The question name as BIND sent it (its case is irrelevant to the cache). */
  questionName: Buffer;
  qtype: number;
  qclass: number;
  /** Offset of the first byte after the question: where the tail starts. */
  tailOffset: number;
  records: RecordLayout[];
  /** The OPT record, if the reply has one. */
  opt?: OptLayout;
}

// Offsets within RDATA of compressible names: [fixed bytes before, names, fixed bytes after].
type RdataShape = { lead: number; names: number; trail: number; naptr?: boolean };
const RDATA_WITH_NAMES: ReadonlyMap<number, RdataShape> = new Map([
  [2, { lead: 0, names: 1, trail: 0 }], // NS
  [3, { lead: 0, names: 1, trail: 0 }], // MD
  [4, { lead: 0, names: 1, trail: 0 }], // MF
  [5, { lead: 0, names: 1, trail: 0 }], // CNAME
  [6, { lead: 0, names: 2, trail: 20 }], // SOA
  [7, { lead: 0, names: 1, trail: 0 }], // MB
  [8, { lead: 0, names: 1, trail: 0 }], // MG
  [9, { lead: 0, names: 1, trail: 0 }], // MR
  [12, { lead: 0, names: 1, trail: 0 }], // PTR
  [14, { lead: 0, names: 2, trail: 0 }], // MINFO
  [15, { lead: 2, names: 1, trail: 0 }], // MX
  [17, { lead: 0, names: 2, trail: 0 }], // RP
  [18, { lead: 2, names: 1, trail: 0 }], // AFSDB
  [21, { lead: 2, names: 1, trail: 0 }], // RT
  [26, { lead: 2, names: 2, trail: 0 }], // PX
  [33, { lead: 6, names: 1, trail: 0 }], // SRV
  [35, { lead: 4, names: 1, trail: 0, naptr: true }], // NAPTR: order, preference, 3 strings, replacement
  [36, { lead: 2, names: 1, trail: 0 }], // KX
  [39, { lead: 0, names: 1, trail: 0 }], // DNAME
]);

/** Lays out `msg` (a complete DNS response) and checks every name in its tail. */
export function analyzeReply(msg: Buffer): ReplyLayout {
  if (msg.length < HEADER_SIZE) throw new ReplyLayoutError(`${msg.length} bytes, shorter than a header`);
  const qdcount = msg.readUInt16BE(4);
  if (qdcount !== 1) throw new ReplyLayoutError(`QDCOUNT is ${qdcount}, not 1`);

  // The question name must be plain labels: the program copies the query's, which has no pointers.
  let end = HEADER_SIZE;
  while (end < msg.length && msg[end] !== 0) {
    if (msg[end] > 63) throw new ReplyLayoutError('question name is compressed or uses a reserved label type', end);
    end += 1 + msg[end];
  }
  if (end >= msg.length) throw new ReplyLayoutError('question name runs past the message');
  const questionName = msg.subarray(HEADER_SIZE, end + 1);
  const questionLabels = wireNameLabels(questionName).map((o) => o + HEADER_SIZE);
  const nameLength = questionName.length;
  const tailOffset = HEADER_SIZE + nameLength + 4;
  if (tailOffset > msg.length) throw new ReplyLayoutError('question type and class run past the message');

  const names = new NameChecker(msg, new Set(questionLabels), tailOffset);
  const counts: Array<[Section, number]> = [
    ['answer', msg.readUInt16BE(6)],
    ['authority', msg.readUInt16BE(8)],
    ['additional', msg.readUInt16BE(10)],
  ];
  const records: RecordLayout[] = [];
  let opt: OptLayout | undefined;
  let off = tailOffset;
  for (const [section, count] of counts) {
    for (let i = 0; i < count; i++) {
      const offset = off;
      off = names.check(off, msg.length);
      if (off + 10 > msg.length) throw new ReplyLayoutError(`${section} record ${i} is cut short`, offset);
      const type = msg.readUInt16BE(off);
      const klass = msg.readUInt16BE(off + 2);
      const ttl = msg.readUInt32BE(off + 4);
      const rdlength = msg.readUInt16BE(off + 8);
      const rdataOffset = off + 10;
      const rdataEnd = rdataOffset + rdlength;
      if (rdataEnd > msg.length) throw new ReplyLayoutError(`${section} record ${i}: RDATA runs past the message`, offset);
      const shape = RDATA_WITH_NAMES.get(type);
      if (shape) checkRdataNames(names, msg, rdataOffset, rdataEnd, shape, `${section} record ${i}`);
      if (type === TYPE_OPT) {
        if (section !== 'additional') throw new ReplyLayoutError(`OPT record in the ${section} section`, offset);
        if (opt) throw new ReplyLayoutError('more than one OPT record', offset);
        if (msg[offset] !== 0) throw new ReplyLayoutError('OPT record not owned by the root', offset);
        opt = {
          offset,
          udpSize: klass,
          extendedRcode: ttl >>> 24,
          version: (ttl >>> 16) & 0xff,
          dnssecOk: (ttl & 0x8000) !== 0,
          rdlength,
        };
      }
      if (type === TYPE_TSIG || (type === TYPE_SIG && section === 'additional')) {
        throw new ReplyLayoutError('the reply is signed (TSIG/SIG(0)): its signature covers the query ID', offset);
      }
      records.push({ section, offset, type, klass, rdataOffset, rdlength });
      off = rdataEnd;
    }
  }
  if (off !== msg.length) throw new ReplyLayoutError(`${msg.length - off} bytes after the last record`, off);

  return {
    id: msg.readUInt16BE(0),
    flags: msg.readUInt16BE(2),
    qdcount,
    ancount: counts[0][1],
    nscount: counts[1][1],
    arcount: counts[2][1],
    nameLength,
    questionName,
    qtype: msg.readUInt16BE(HEADER_SIZE + nameLength),
    qclass: msg.readUInt16BE(HEADER_SIZE + nameLength + 2),
    tailOffset,
    records,
    opt,
  };
}

function checkRdataNames(names: NameChecker, msg: Buffer, start: number, end: number, shape: RdataShape, what: string): void {
  let off = start + shape.lead;
  if (shape.naptr) {
    for (let s = 0; s < 3; s++) {
      if (off >= end) throw new ReplyLayoutError(`${what}: NAPTR character-strings run past RDATA`, off);
      off += 1 + msg[off];
    }
  }
  if (off > end) throw new ReplyLayoutError(`${what}: RDATA too short`, start);
  for (let n = 0; n < shape.names; n++) off = names.check(off, end);
  if (off + shape.trail !== end) {
    throw new ReplyLayoutError(`${what}: RDATA is ${end - start} bytes, its names and fields take ${off + shape.trail - start}`, start);
  }
}

/** Walks names in the tail, enforcing the pointer rule of this file's header. */
class NameChecker {
  constructor(
    private readonly msg: Buffer,
    private readonly questionLabels: ReadonlySet<number>,
    private readonly tailOffset: number,
  ) {}

  /** Checks the name at `start` (which must end before `limit`); returns the offset after it. */
  check(start: number, limit: number): number {
    return this.walk(start, limit, 0);
  }

  private walk(start: number, limit: number, decodedSoFar: number): number {
    let off = start;
    let length = decodedSoFar;
    for (;;) {
      if (off >= limit) throw new ReplyLayoutError('name runs past its record', start);
      const b = this.msg[off];
      if (b === 0) {
        if (length + 1 > 255) throw new ReplyLayoutError('name longer than 255 bytes', start);
        return off + 1;
      }
      if ((b & 0xc0) === 0xc0) {
        if (off + 2 > limit) throw new ReplyLayoutError('compression pointer cut short', off);
        const target = this.msg.readUInt16BE(off) & 0x3fff;
        this.followPointer(off, target, length);
        return off + 2;
      }
      if (b > 63) throw new ReplyLayoutError(`label type 0x${b.toString(16)} is reserved`, off);
      length += 1 + b;
      if (length > 255) throw new ReplyLayoutError('name longer than 255 bytes', start);
      off += 1 + b;
    }
  }

  private followPointer(at: number, target: number, decodedSoFar: number): void {
    if (target < this.tailOffset) {
      if (!this.questionLabels.has(target)) {
        throw new ReplyLayoutError(
          `compression pointer to byte ${target}, which is not a label of the question name ` +
            '(the XDP program rewrites everything before the tail except those labels)',
          at,
        );
      }
      // The question name is valid on its own; its suffix length only matters for the total.
      const questionSuffix = this.questionSuffixLength(target);
      if (decodedSoFar + questionSuffix > 255) throw new ReplyLayoutError('name longer than 255 bytes', at);
      return;
    }
    if (target >= at) throw new ReplyLayoutError(`compression pointer to byte ${target} does not point backwards`, at);
    // Re-walk from the target: cheap, and required to get the decoded length right.
    this.walk(target, at, decodedSoFar);
  }

  private questionSuffixLength(target: number): number {
    let off = target;
    while (this.msg[off] !== 0) off += 1 + this.msg[off];
    return off + 1 - target;
  }
}
