/**
 * The zone change guard (santa_abi.h): which zone an UPDATE or NOTIFY names, as the program
 * reads it on the message's way to BIND: over UDP, at the start of a TCP segment, or in the first
 * fragment of a UDP datagram. Its generation is bumped (model/decide.ts says so, the
 * oracle applies it), and entries stamped with an older one stop hitting.
 */
import { lowerAscii } from './keys';

const OPCODE_MASK = 0xf800; // QR and the opcode: QR must be clear
const NOTIFY = 4 << 11;
const UPDATE = 5 << 11;
const HEADER = 12;
const NAME_MAX = 255;
const L4_READ = 20;
const UDP_HEADER = 8;
const FRAGMENT_HEADER = 8;
const PROTO_UDP = 17;

/** The lower-cased wire name of the zone `msg` (a DNS message over UDP, by its UDP length)
 * announces a change to, or undefined: not an UPDATE or NOTIFY query, or its first name does
 * not end, as plain labels, within the message's first 255 bytes after the header. */
export function zoneChangeOf(msg: Buffer): Buffer | undefined {
  if (msg.length <= HEADER || !announcesChange(msg.readUInt16BE(2))) return undefined;
  return zoneName(msg.subarray(HEADER, HEADER + Math.min(msg.length - HEADER, NAME_MAX)));
}

/**
 * The same in a packet the answer path does not take, at frame offset `l4Off`, its IP packet
 * ending at frame offset `end`: a TCP segment whose payload starts with a message's 2-byte
 * length, or the first fragment of a UDP datagram, to a served port, carrying an UPDATE or
 * NOTIFY header. The program reads 20 bytes there first (a TCP header, or a UDP header and the
 * DNS header's start), and each later part, with a helper that fails past the frame's end.
 */
export function l4ZoneChangeOf(frame: Buffer, l4Off: number, end: number, tcp: boolean, servesPort: (port: number) => boolean): Buffer | undefined {
  if (l4Off + L4_READ > frame.length || !servesPort(frame.readUInt16BE(l4Off + 2))) return undefined;
  const dataOffset = frame[l4Off + 12] >> 4;
  if (tcp && dataOffset < 5) return undefined;
  const dnsOff = tcp ? l4Off + dataOffset * 4 + 2 : l4Off + UDP_HEADER;
  if (end < dnsOff + HEADER + 1 || end > 0xffff) return undefined;
  if (dnsOff + 4 > frame.length || !announcesChange(frame.readUInt16BE(dnsOff + 2))) return undefined;
  const len = Math.min(end - dnsOff - HEADER, NAME_MAX);
  if (dnsOff + HEADER + len > frame.length) return undefined;
  return zoneName(frame.subarray(dnsOff + HEADER, dnsOff + HEADER + len));
}

/** An IPv6 fragment header at `fragOff`: the first fragment of a UDP datagram goes on as above. */
export function v6FragmentZoneChangeOf(frame: Buffer, fragOff: number, end: number, servesPort: (port: number) => boolean): Buffer | undefined {
  if (fragOff + FRAGMENT_HEADER > frame.length) return undefined;
  if (frame[fragOff] !== PROTO_UDP || frame.readUInt16BE(fragOff + 2) >> 3 !== 0) return undefined;
  return l4ZoneChangeOf(frame, fragOff + FRAGMENT_HEADER, end, false, servesPort);
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
