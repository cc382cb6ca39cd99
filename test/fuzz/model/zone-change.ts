/**
 * The zone change guard (santa_abi.h): which zone an UPDATE or NOTIFY names, as the program
 * reads it on the message's way to BIND, over UDP or at the start of a TCP segment. Its generation is bumped (model/decide.ts says so, the
 * oracle applies it), and entries stamped with an older one stop hitting.
 */
import { lowerAscii } from './keys';

const OPCODE_MASK = 0xf800; // QR and the opcode: QR must be clear
const NOTIFY = 4 << 11;
const UPDATE = 5 << 11;
const HEADER = 12;
const NAME_MAX = 255;
const TCP_HEADER = 20;

/** The lower-cased wire name of the zone `msg` (a DNS message over UDP, by its UDP length)
 * announces a change to, or undefined: not an UPDATE or NOTIFY query, or its first name does
 * not end, as plain labels, within the message's first 255 bytes after the header. */
export function zoneChangeOf(msg: Buffer): Buffer | undefined {
  if (msg.length <= HEADER || !announcesChange(msg.readUInt16BE(2))) return undefined;
  return zoneName(msg.subarray(HEADER, HEADER + Math.min(msg.length - HEADER, NAME_MAX)));
}

/**
 * The same for a TCP segment at frame offset `tcpOff` whose IP datagram ends at frame offset
 * `end`: to a served port, its payload starting with a message's 2-byte length and an UPDATE or
 * NOTIFY header. The program reads each part with a helper that fails past the frame's end.
 */
export function tcpZoneChangeOf(frame: Buffer, tcpOff: number, end: number, servesPort: (port: number) => boolean): Buffer | undefined {
  if (tcpOff + TCP_HEADER > frame.length || !servesPort(frame.readUInt16BE(tcpOff + 2))) return undefined;
  const dataOffset = frame[tcpOff + 12] >> 4;
  const dnsOff = tcpOff + dataOffset * 4 + 2;
  if (dataOffset < 5 || end < dnsOff + HEADER + 1 || end > 0xffff) return undefined;
  if (dnsOff + 4 > frame.length || !announcesChange(frame.readUInt16BE(dnsOff + 2))) return undefined;
  const len = Math.min(end - dnsOff - HEADER, NAME_MAX);
  if (dnsOff + HEADER + len > frame.length) return undefined;
  return zoneName(frame.subarray(dnsOff + HEADER, dnsOff + HEADER + len));
}

function announcesChange(flags: number): boolean {
  const opcode = flags & OPCODE_MASK;
  return opcode === NOTIFY || opcode === UPDATE;
}

/** The plain-label name `body` starts with, lower-cased, if it ends inside `body`. */
function zoneName(body: Buffer): Buffer | undefined {
  for (let off = 0; off < body.length; ) {
    const label = body[off];
    if (label === 0) return lowerAscii(body.subarray(0, off + 1));
    if (label > 63) return undefined;
    off += label + 1;
  }
  return undefined;
}
