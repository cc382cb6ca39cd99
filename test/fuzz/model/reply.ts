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

export function replyMessage(q: Question, response: Buffer): Buffer {
  const header = Buffer.from(response.subarray(0, HEADER));
  header.writeUInt16BE(q.id, 0);
  header.writeUInt16BE((header.readUInt16BE(2) & ~RD_CD) | (q.flags & RD_CD), 2);
  return Buffer.concat([header, q.wire, responseTail(response)]);
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
