/**
 * The reply frame santa_xdp must transmit for a hit: the query's L2 header with MACs swapped
 * (VLAN tags kept), a fresh IP header (IPv4: IHL 5, no options, DF, TTL 64; IPv6: hop limit 64,
 * no flow label) with the addresses swapped, UDP with ports swapped and a full checksum, and
 * the DNS message: the query's ID, the stored flags with the query's RD and CD, the stored
 * counts, the question exactly as received, then the stored sections.
 */
import { ipv4HeaderChecksum, udpChecksum } from '../../support/packets';
import type { Datagram } from './frame';
import type { Question } from './query';

const HEADER = 12;
const RD_CD = 0x0100 | 0x0010;
const TTL = 64;
const PROTO_UDP = 17;
const DONT_FRAGMENT = 0x4000;

/** The sections after the question: what the cache stores from BIND's response. */
export function responseTail(response: Buffer): Buffer {
  let at = HEADER;
  while (response[at] !== 0) at += 1 + response[at];
  return response.subarray(at + 1 + 4);
}

/** The stored flags with the query's RD and CD. */
function replyFlags(q: Question, response: Buffer): number {
  return (response.readUInt16BE(2) & ~RD_CD) | (q.flags & RD_CD);
}

/** `cookieRdata` (a cookie query): the OPT's RDLENGTH and COOKIE option, which replace the
 * entry's final RDLENGTH of 0. */
export function replyMessage(q: Question, response: Buffer, cookieRdata?: Buffer): Buffer {
  const header = Buffer.from(response.subarray(0, HEADER));
  header.writeUInt16BE(q.id, 0);
  header.writeUInt16BE(replyFlags(q, response), 2);
  const tail = responseTail(response);
  if (!cookieRdata) return Buffer.concat([header, q.wire, tail]);
  return Buffer.concat([header, q.wire, tail.subarray(0, tail.length - 2), cookieRdata]);
}

const AA = 0x0400;
const TC = 0x0200;
const AD = 0x0020;
const RCODE = 0x000f;
const NXDOMAIN = 3;
const BADCOOKIE = 23; // extended rcode: 7 in the header, 1 in the OPT's TTL
const OPT_BYTES = 11;

/**
 * What response rate limiting sends when it slips (xdp/rrl.h): the header and the question,
 * no records but the entry's OPT for an EDNS query. TC=1 and AA (BIND slips before it builds
 * the answer; the rcode stays only for NXDOMAIN); to a client that sent a cookie, BADCOOKIE
 * with the fresh server cookie instead.
 */
export function slipMessage(q: Question, response: Buffer, cookieRdata?: Buffer): Buffer {
  let flags = replyFlags(q, response);
  if (cookieRdata) flags = (flags & ~(AA | AD | TC | RCODE)) | (BADCOOKIE & RCODE);
  else {
    flags |= AA | TC;
    if ((flags & RCODE) !== NXDOMAIN) flags &= ~RCODE;
  }
  const header = Buffer.alloc(HEADER);
  header.writeUInt16BE(q.id, 0);
  header.writeUInt16BE(flags, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(q.bits.edns ? 1 : 0, 10);
  if (!q.bits.edns) return Buffer.concat([header, q.wire]);
  const opt = Buffer.from(response.subarray(response.length - OPT_BYTES));
  if (!cookieRdata) return Buffer.concat([header, q.wire, opt]);
  opt[5] = BADCOOKIE >> 4;
  return Buffer.concat([header, q.wire, opt.subarray(0, OPT_BYTES - 2), cookieRdata]);
}

export function replyFrame(queryFrame: Buffer, d: Datagram, message: Buffer): Buffer {
  const l2 = Buffer.from(queryFrame.subarray(0, d.l2Len));
  queryFrame.copy(l2, 0, 6, 12);
  queryFrame.copy(l2, 6, 0, 6);

  const udp = Buffer.alloc(8 + message.length);
  udp.writeUInt16BE(d.dport, 0);
  udp.writeUInt16BE(d.sport, 2);
  udp.writeUInt16BE(udp.length, 4);
  message.copy(udp, 8);
  // The reply goes from the query's destination to its source.
  udp.writeUInt16BE(udpChecksum(d.dst, d.src, udp), 6);

  let ip: Buffer;
  if (d.family === 4) {
    ip = Buffer.alloc(20);
    ip[0] = 0x45;
    ip.writeUInt16BE(20 + udp.length, 2);
    ip.writeUInt16BE(DONT_FRAGMENT, 6);
    ip[8] = TTL;
    ip[9] = PROTO_UDP;
    d.dst.copy(ip, 12);
    d.src.copy(ip, 16);
    ip.writeUInt16BE(ipv4HeaderChecksum(ip), 10);
  } else {
    ip = Buffer.alloc(40);
    ip[0] = 0x60;
    ip.writeUInt16BE(udp.length, 4);
    ip[6] = PROTO_UDP;
    ip[7] = TTL;
    d.dst.copy(ip, 8);
    d.src.copy(ip, 24);
  }
  return Buffer.concat([l2, ip, udp]);
}
