/**
 * Test-side DNS and packet building, written independently of sidecar/bpf so the codecs are
 * checked against a second implementation: raw replies with chosen compression pointers,
 * and complete IPv4/IPv6 UDP datagrams with a checksum computed the textbook way.
 */

/** Wire name for a plain dotted name (no escapes), case kept. */
export function wireName(name: string): Buffer {
  const labels = name.replace(/\.$/, '').split('.').filter((l) => l.length > 0);
  return Buffer.concat([...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'latin1')])), Buffer.from([0])]);
}

/** A name of exactly `length` wire bytes made of labels of up to 63 bytes, e.g. for tier edges. */
export function nameOfLength(length: number, letter = 'a'): string {
  // length = sum(1 + label) + 1 for the root label.
  let remaining = length - 1;
  const labels: string[] = [];
  while (remaining > 0) {
    let take = Math.min(63, remaining - 1);
    // Never leave a remainder of 1: it cannot hold a label.
    if (remaining - (take + 1) === 1) take -= 1;
    labels.push(letter.repeat(take));
    remaining -= take + 1;
  }
  return labels.join('.');
}

export function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

export function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

export function pointer(offset: number): Buffer {
  return u16(0xc000 | offset);
}

/** One resource record; `owner` is wire bytes (labels, a pointer, or labels then a pointer). */
export function rr(owner: Buffer, type: number, ttl: number, rdata: Buffer, klass = 1): Buffer {
  return Buffer.concat([owner, u16(type), u16(klass), u32(ttl), u16(rdata.length), rdata]);
}

export function optRecord(udpSize: number, dnssecOk: boolean, version = 0): Buffer {
  return Buffer.concat([Buffer.from([0]), u16(41), u16(udpSize), Buffer.from([0, version, dnssecOk ? 0x80 : 0, 0]), u16(0)]);
}

export interface RawReply {
  id?: number;
  flags: number;
  qname: string;
  qtype?: number;
  qclass?: number;
  answers?: Buffer[];
  authority?: Buffer[];
  additional?: Buffer[];
}

export function rawReply(r: RawReply): Buffer {
  const an = r.answers ?? [];
  const ns = r.authority ?? [];
  const ar = r.additional ?? [];
  return Buffer.concat([
    u16(r.id ?? 0x1234),
    u16(r.flags),
    u16(1),
    u16(an.length),
    u16(ns.length),
    u16(ar.length),
    wireName(r.qname),
    u16(r.qtype ?? 1),
    u16(r.qclass ?? 1),
    ...an,
    ...ns,
    ...ar,
  ]);
}

/** RFC 768/1071 checksum over a pseudo-header, the UDP header (checksum 0) and payload. */
export function textbookUdpChecksum(src: Buffer, dst: Buffer, sport: number, dport: number, payload: Buffer): number {
  const udpLength = 8 + payload.length;
  const pseudo =
    src.length === 4
      ? Buffer.concat([src, dst, Buffer.from([0, 17]), u16(udpLength)])
      : Buffer.concat([src, dst, u32(udpLength), Buffer.from([0, 0, 0, 17])]);
  const all = Buffer.concat([pseudo, u16(sport), u16(dport), u16(udpLength), u16(0), payload]);
  const padded = all.length % 2 ? Buffer.concat([all, Buffer.from([0])]) : all;
  let sum = 0;
  for (let i = 0; i < padded.length; i += 2) sum += padded.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  const c = ~sum & 0xffff;
  return c === 0 ? 0xffff : c;
}

/** Sum (folded, not complemented) of a buffer including its checksum field: 0xffff when valid. */
export function verifySum(pseudoAndSegment: Buffer): number {
  const padded = pseudoAndSegment.length % 2 ? Buffer.concat([pseudoAndSegment, Buffer.from([0])]) : pseudoAndSegment;
  let sum = 0;
  for (let i = 0; i < padded.length; i += 2) sum += padded.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/** Flips the case of letters in a plain dotted name at random, as resolvers do (0x20). */
export function randomCase(name: string, rnd: () => number = Math.random): string {
  return [...name].map((c) => (/[a-z]/i.test(c) && rnd() < 0.5 ? (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase()) : c)).join('');
}

/** Deterministic PRNG (mulberry32) so failures reproduce. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface UdpFrame {
  srcMac: Buffer;
  dstMac: Buffer;
  /** 4 bytes for IPv4, 16 for IPv6. */
  src: Buffer;
  dst: Buffer;
  sport: number;
  dport: number;
  payload: Buffer;
}

function ipv4HeaderChecksum(h: Buffer): number {
  let sum = 0;
  for (let i = 0; i < h.length; i += 2) sum += h.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** Ethernet + IPv4 (no options) or IPv6 + UDP, every checksum filled in the textbook way. */
export function udpFrame(f: UdpFrame): Buffer {
  const v6 = f.src.length === 16;
  const udpLength = 8 + f.payload.length;
  const udp = Buffer.concat([u16(f.sport), u16(f.dport), u16(udpLength), u16(textbookUdpChecksum(f.src, f.dst, f.sport, f.dport, f.payload)), f.payload]);
  let ip: Buffer;
  if (v6) {
    ip = Buffer.concat([u32(0x60000000), u16(udpLength), Buffer.from([17, 64]), f.src, f.dst]);
  } else {
    ip = Buffer.concat([Buffer.from([0x45, 0]), u16(20 + udpLength), u16(0x1234), u16(0x4000), Buffer.from([64, 17]), u16(0), f.src, f.dst]);
    ip.writeUInt16BE(ipv4HeaderChecksum(ip), 10);
  }
  return Buffer.concat([f.dstMac, f.srcMac, u16(v6 ? 0x86dd : 0x0800), ip, udp]);
}

/** Splits a frame built like udpFrame's (no VLAN, no IPv4 options) back into its parts. */
export function parseUdpFrame(frame: Buffer): UdpFrame & { ipChecksumOk: boolean; udpChecksum: number } {
  const type = frame.readUInt16BE(12);
  const v6 = type === 0x86dd;
  if (!v6 && type !== 0x0800) throw new Error(`ethertype 0x${type.toString(16)} is not IP`);
  const ipLen = v6 ? 40 : (frame[14] & 0x0f) * 4;
  const ip = frame.subarray(14, 14 + ipLen);
  const src = Buffer.from(v6 ? ip.subarray(8, 24) : ip.subarray(12, 16));
  const dst = Buffer.from(v6 ? ip.subarray(24, 40) : ip.subarray(16, 20));
  const udp = frame.subarray(14 + ipLen);
  const udpLength = udp.readUInt16BE(4);
  return {
    dstMac: Buffer.from(frame.subarray(0, 6)),
    srcMac: Buffer.from(frame.subarray(6, 12)),
    src,
    dst,
    sport: udp.readUInt16BE(0),
    dport: udp.readUInt16BE(2),
    payload: Buffer.from(udp.subarray(8, udpLength)),
    udpChecksum: udp.readUInt16BE(6),
    ipChecksumOk: v6 || ipv4HeaderChecksum(ip) === 0,
  };
}
