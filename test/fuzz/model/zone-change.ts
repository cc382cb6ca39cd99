/**
 * The zone change guard (santa_abi.h): which zone an UPDATE or NOTIFY names, as the program
 * reads it on the message's way to BIND: over UDP, at the start of a TCP segment, or in the first
 * fragment of a UDP datagram. Its generation is bumped (model/decide.ts says so, the
 * oracle applies it), and entries stamped with an older one stop hitting. The loopback guard
 * (santa_lo_guard, a tc program on lo) reads the same messages in any IPv4 or IPv6 packet.
 */
import { lowerAscii } from './keys';

const OPCODE_MASK = 0xf800; // QR and the opcode: QR must be clear
const QR = 0x8000;
const RCODE_MASK = 0x000f;
const TYPE_IXFR = 251;
const TYPE_AXFR = 252;
const NOTIFY = 4 << 11;
const UPDATE = 5 << 11;
const HEADER = 12;
const NAME_MAX = 255;
const L4_READ = 20;
const UDP_HEADER = 8;
const FRAGMENT_HEADER = 8;
const PROTO_UDP = 17;
const PROTO_TCP = 6;
const PROTO_FRAGMENT = 44;
const ETH_HEADER = 14;
const IPV4_HEADER = 20;
const IPV6_HEADER = 40;
const ETH_P_IPV4 = 0x0800;
const ETH_P_IPV6 = 0x86dd;

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
 * NOTIFY header. In santa_xdp (`hook` xdp), a TCP segment to any port may also start the answer
 * to a zone transfer (a response, NOERROR, one question: the zone, AXFR or IXFR). The program
 * reads 20 bytes there first (a TCP header, or a UDP header and the DNS header's start), then
 * header bytes 2..5 (the loopback guard: 2..3), then the name, each with a helper that fails
 * past the frame's end.
 */
export function l4ZoneChangeOf(frame: Buffer, l4Off: number, end: number, tcp: boolean, servesPort: (port: number) => boolean, hook: 'xdp' | 'loopback' = 'xdp'): Buffer | undefined {
  if (l4Off + L4_READ > frame.length) return undefined;
  const served = servesPort(frame.readUInt16BE(l4Off + 2));
  const transfers = tcp && hook === 'xdp';
  if (!served && !transfers) return undefined;
  const dataOffset = frame[l4Off + 12] >> 4;
  if (tcp && dataOffset < 5) return undefined;
  const dnsOff = tcp ? l4Off + dataOffset * 4 + 2 : l4Off + UDP_HEADER;
  if (end < dnsOff + HEADER + 1 || end > 0xffff) return undefined;
  if (dnsOff + (hook === 'xdp' ? 6 : 4) > frame.length) return undefined;
  const flags = frame.readUInt16BE(dnsOff + 2);
  const transfer = transfers && (flags & (OPCODE_MASK | RCODE_MASK)) === QR && frame.readUInt16BE(dnsOff + 4) === 1;
  if (!transfer && !(announcesChange(flags) && served)) return undefined;
  const len = Math.min(end - dnsOff - HEADER, NAME_MAX);
  if (dnsOff + HEADER + len > frame.length) return undefined;
  const body = frame.subarray(dnsOff + HEADER, dnsOff + HEADER + len);
  const name = zoneName(body);
  if (!name || !transfer) return name;
  const n = name.length;
  return n + 2 <= len && body[n] === 0 && (body[n + 1] === TYPE_AXFR || body[n + 1] === TYPE_IXFR) ? name : undefined;
}

/** An IPv6 fragment header at `fragOff`: the first fragment of a UDP datagram goes on as above. */
export function v6FragmentZoneChangeOf(frame: Buffer, fragOff: number, end: number, servesPort: (port: number) => boolean, hook: 'xdp' | 'loopback' = 'xdp'): Buffer | undefined {
  if (fragOff + FRAGMENT_HEADER > frame.length) return undefined;
  if (frame[fragOff] !== PROTO_UDP || frame.readUInt16BE(fragOff + 2) >> 3 !== 0) return undefined;
  return l4ZoneChangeOf(frame, fragOff + FRAGMENT_HEADER, end, false, servesPort, hook);
}

/**
 * The loopback guard's reading of a frame as lo delivers it (Ethernet, no VLAN tags: its
 * protocol is the frame's EtherType): any IPv4 packet that is not a later fragment, with UDP
 * (whole, or its first fragment) or TCP (unfragmented), or any IPv6 packet with UDP, TCP, or a
 * fragment header before UDP; to any address, to a served port. Nothing with the mode off.
 */
export function loopbackZoneChangeOf(frame: Buffer, on: boolean, servesPort: (port: number) => boolean): Buffer | undefined {
  if (!on || frame.length < ETH_HEADER) return undefined;
  const proto = frame.readUInt16BE(12);
  if (proto === ETH_P_IPV4) {
    if (frame.length < ETH_HEADER + IPV4_HEADER || frame[ETH_HEADER] >> 4 !== 4 || (frame[ETH_HEADER] & 15) < 5) return undefined;
    const frag = frame.readUInt16BE(ETH_HEADER + 6);
    if (frag & 0x1fff) return undefined;
    const l4 = ETH_HEADER + (frame[ETH_HEADER] & 15) * 4;
    const end = ETH_HEADER + frame.readUInt16BE(ETH_HEADER + 2);
    const next = frame[ETH_HEADER + 9];
    if (next === PROTO_UDP) return l4ZoneChangeOf(frame, l4, end, false, servesPort, 'loopback');
    if (next === PROTO_TCP && !(frag & 0x2000)) return l4ZoneChangeOf(frame, l4, end, true, servesPort, 'loopback');
    return undefined;
  }
  if (proto === ETH_P_IPV6) {
    if (frame.length < ETH_HEADER + IPV6_HEADER || frame[ETH_HEADER] >> 4 !== 6) return undefined;
    const l4 = ETH_HEADER + IPV6_HEADER;
    const end = l4 + frame.readUInt16BE(ETH_HEADER + 4);
    const next = frame[ETH_HEADER + 6];
    if (next === PROTO_UDP || next === PROTO_TCP) return l4ZoneChangeOf(frame, l4, end, next === PROTO_TCP, servesPort, 'loopback');
    if (next === PROTO_FRAGMENT) return v6FragmentZoneChangeOf(frame, l4, end, servesPort, 'loopback');
  }
  return undefined;
}

/** Frames BPF_PROG_TEST_RUN refuses to make an skb of: shorter than their IP header claims to
 * start (lo never delivers such a packet). */
export function skbTestRunRefuses(frame: Buffer): boolean {
  if (frame.length < ETH_HEADER) return true;
  const proto = frame.readUInt16BE(12);
  if (proto === ETH_P_IPV4) return frame.length < ETH_HEADER + IPV4_HEADER;
  if (proto === ETH_P_IPV6) return frame.length < ETH_HEADER + IPV6_HEADER;
  return false;
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
