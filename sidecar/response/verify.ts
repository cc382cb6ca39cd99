/**
 * verify: does a built response say exactly what BIND says to the same query?
 *
 * Equal means: same rcode and header flags (the ID aside, which the XDP program copies from each
 * query), the same question, the same RRs in each section (as multisets: BIND rotates RRsets, so
 * order inside a section may differ), and the same OPT record. It also reports whether the bytes
 * are identical, and whether they would be if our RRs were in BIND's order (then any difference
 * is only the rotation, and our compression and encoding match named's byte for byte).
 */
import { className, typeName } from '../zone/types';
import { DecodedMessage, DecodedRR, decodeMessage } from './decode';
import { MessageWriter } from './wire';

export interface VerifyResult {
  /** Empty when the responses are equivalent. */
  mismatches: string[];
  /** Byte for byte equal apart from the 2-byte ID. */
  byteIdentical: boolean;
  /** Equal after putting our RRs in BIND's order. */
  identicalExceptOrder: boolean;
}

const FLAG_BITS: [number, string][] = [
  [0x8000, 'QR'],
  [0x0400, 'AA'],
  [0x0200, 'TC'],
  [0x0100, 'RD'],
  [0x0080, 'RA'],
  [0x0020, 'AD'],
  [0x0010, 'CD'],
];

/** Compares `built` (ours) with `bind` (named's reply to the same query). */
export function verifyResponse(built: Buffer, bind: Buffer): VerifyResult {
  const mismatches: string[] = [];
  let ours: DecodedMessage;
  let theirs: DecodedMessage;
  try {
    ours = decodeMessage(built);
  } catch (e) {
    return { mismatches: [`built response does not decode: ${(e as Error).message}`], byteIdentical: false, identicalExceptOrder: false };
  }
  try {
    theirs = decodeMessage(bind);
  } catch (e) {
    return { mismatches: [`BIND's response does not decode: ${(e as Error).message}`], byteIdentical: false, identicalExceptOrder: false };
  }
  const opcode = (f: number) => (f >> 11) & 0xf;
  const rcode = (m: DecodedMessage) => (m.flags & 0xf) | ((m.opt?.extendedRcode ?? 0) << 4);
  if (opcode(ours.flags) !== opcode(theirs.flags)) mismatches.push(`opcode: ours ${opcode(ours.flags)}, BIND ${opcode(theirs.flags)}`);
  if (rcode(ours) !== rcode(theirs)) mismatches.push(`rcode: ours ${rcode(ours)}, BIND ${rcode(theirs)}`);
  for (const [bit, label] of FLAG_BITS) {
    if ((ours.flags & bit) !== (theirs.flags & bit)) mismatches.push(`flag ${label}: ours ${ours.flags & bit ? 1 : 0}, BIND ${theirs.flags & bit ? 1 : 0}`);
  }
  const q = (m: DecodedMessage) => m.question.map((x) => `${x.name} ${className(x.class)} ${typeName(x.type)}`).join(', ');
  if (q(ours) !== q(theirs)) mismatches.push(`question: ours ${q(ours)}, BIND ${q(theirs)}`);
  for (const section of ['answer', 'authority', 'additional'] as const) compareSection(section, ours[section], theirs[section], mismatches);
  compareOpt(ours, theirs, mismatches);
  const byteIdentical = built.length === bind.length && built.subarray(2).equals(bind.subarray(2));
  let identicalExceptOrder = byteIdentical;
  if (!byteIdentical && mismatches.length === 0) identicalExceptOrder = render(theirs).subarray(2).equals(bind.subarray(2));
  return { mismatches, byteIdentical, identicalExceptOrder };
}

/** Just the mismatches (empty when BIND's answer and ours are equivalent). */
export function responseMismatches(built: Buffer, bind: Buffer): string[] {
  return verifyResponse(built, bind).mismatches;
}

function present(rr: DecodedRR): string {
  return `${rr.name} ${rr.ttl} ${className(rr.class)} ${typeName(rr.type)} ${rr.rdata.toString('hex')}`;
}

function compareSection(section: string, ours: DecodedRR[], theirs: DecodedRR[], mismatches: string[]): void {
  const count = new Map<string, number>();
  for (const rr of ours) count.set(present(rr), (count.get(present(rr)) ?? 0) + 1);
  for (const rr of theirs) count.set(present(rr), (count.get(present(rr)) ?? 0) - 1);
  for (const [rr, n] of count) {
    if (n > 0) mismatches.push(`${section}: only ours has ${rr}`);
    if (n < 0) mismatches.push(`${section}: only BIND has ${rr}`);
  }
}

function compareOpt(ours: DecodedMessage, theirs: DecodedMessage, mismatches: string[]): void {
  const a = ours.opt;
  const b = theirs.opt;
  if (!a || !b) {
    if (a || b) mismatches.push(`OPT: ${a ? 'only ours has one' : 'only BIND has one'}`);
    return;
  }
  if (a.udpSize !== b.udpSize) mismatches.push(`OPT UDP size: ours ${a.udpSize}, BIND ${b.udpSize}`);
  if (a.version !== b.version) mismatches.push(`OPT version: ours ${a.version}, BIND ${b.version}`);
  if (a.flags !== b.flags) mismatches.push(`OPT flags: ours ${a.flags.toString(16)}, BIND ${b.flags.toString(16)}`);
  if (!a.options.equals(b.options)) mismatches.push(`OPT options: ours ${a.options.toString('hex') || '(none)'}, BIND ${b.options.toString('hex') || '(none)'}`);
}

/** Renders a decoded message with our writer (the OPT last, as BIND puts it). */
export function render(m: DecodedMessage): Buffer {
  const w = new MessageWriter();
  w.header(m.id, m.flags, [m.question.length, m.answer.length, m.authority.length, m.additional.length + (m.opt ? 1 : 0)]);
  for (const q of m.question) w.question(q.name, q.type, q.class);
  for (const section of [m.answer, m.authority, m.additional]) {
    // Consecutive records of one RRset go out as named renders an rdataset (MessageWriter.rrset).
    let ownerAt = -1;
    section.forEach((rr, i) => {
      const prev = section[i - 1];
      // RRSIGs form one rdataset per covered type.
      const sameSet = prev !== undefined && prev.name === rr.name && prev.type === rr.type && prev.class === rr.class && (rr.type !== 46 || prev.rdata.readUInt16BE(0) === rr.rdata.readUInt16BE(0));
      w.record(rr.name, rr.type, rr.class, rr.ttl, rr.rdata, undefined, sameSet ? ownerAt : -1);
      if (!sameSet) ownerAt = w.lastOwnerAt;
    });
  }
  if (m.opt) {
    w.name('.', false);
    w.u16(41);
    w.u16(m.opt.udpSize);
    w.u32(((m.opt.extendedRcode << 24) | (m.opt.version << 16) | m.opt.flags) >>> 0);
    w.u16(m.opt.options.length);
    w.raw(m.opt.options);
  }
  return w.done();
}
