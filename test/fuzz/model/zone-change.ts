/**
 * The zone change guard (santa_abi.h): which zone an UPDATE or NOTIFY names, as the program
 * reads it on the message's way to BIND. Its generation is bumped (model/decide.ts says so, the
 * oracle applies it), and entries stamped with an older one stop hitting.
 */
import { lowerAscii } from './keys';

const OPCODE_MASK = 0xf800; // QR and the opcode: QR must be clear
const NOTIFY = 4 << 11;
const UPDATE = 5 << 11;
const HEADER = 12;
const NAME_MAX = 255;

/** The lower-cased wire name of the zone `msg` (a DNS message, by its UDP length) announces a
 * change to, or undefined: not an UPDATE or NOTIFY query, or its first name does not end, as
 * plain labels, within the message's first 255 bytes after the header. */
export function zoneChangeOf(msg: Buffer): Buffer | undefined {
  if (msg.length <= HEADER) return undefined;
  const opcode = msg.readUInt16BE(2) & OPCODE_MASK;
  if (opcode !== NOTIFY && opcode !== UPDATE) return undefined;
  const body = msg.subarray(HEADER, HEADER + Math.min(msg.length - HEADER, NAME_MAX));
  for (let off = 0; off < body.length; ) {
    const label = body[off];
    if (label === 0) return lowerAscii(body.subarray(0, off + 1));
    if (label > 63) return undefined;
    off += label + 1;
  }
  return undefined;
}
