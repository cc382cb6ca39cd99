/**
 * What the XDP program does with a cache entry, restated in TypeScript for tests: the reply
 * bytes it sends for a query, and the UDP checksum it computes from csum_const plus the parts
 * that depend on the query. Used to check codecs against real BIND replies and textbook sums.
 */
import { DecodedValue } from '../../sidecar/bpf/codec';

const RD = 0x01; // in header byte 2
const CD = 0x10; // in header byte 3

/** Length of the query's question (name + type + class) starting at byte 12. */
export function questionLength(query: Buffer): number {
  let off = 12;
  while (query[off] !== 0) off += 1 + query[off];
  return off + 1 - 12 + 4;
}

/** The DNS message the program sends in reply to `query` from `value`. */
export function emulateReply(value: DecodedValue, query: Buffer): Buffer {
  const hdr = Buffer.alloc(12);
  query.copy(hdr, 0, 0, 2);
  value.hdr.copy(hdr, 2);
  hdr[2] = (hdr[2] & ~RD) | (query[2] & RD);
  hdr[3] = (hdr[3] & ~CD) | (query[3] & CD);
  return Buffer.concat([hdr, query.subarray(12, 12 + questionLength(query)), value.tail]);
}

/**
 * The checksum field as the program computes it: csum_const plus ID, flags, the question,
 * addresses and ports (all at even offsets), folded and complemented.
 */
export function programChecksum(csumConst: number, reply: Buffer, src: Buffer, dst: Buffer, sport: number, dport: number): number {
  let sum = csumConst;
  const words = (b: Buffer, start: number, end: number) => {
    for (let i = start; i < end; i += 2) sum += (b[i] << 8) | (i + 1 < end ? b[i + 1] : 0);
  };
  words(reply, 0, 4);
  // The question is followed by the tail, so an odd-length question's last byte pairs with the
  // tail's first; csum_const counted that tail byte as a low byte, so here it is a high byte.
  words(reply, 12, 12 + questionLength(reply));
  words(src, 0, src.length);
  words(dst, 0, dst.length);
  sum += sport + dport;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  const c = ~sum & 0xffff;
  return c === 0 ? 0xffff : c;
}
