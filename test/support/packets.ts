/**
 * Frames for driving the XDP program: Ethernet (with up to two VLAN tags), IPv4 (optionally
 * with options) or IPv6, UDP (or TCP) and a DNS message, plus a parser for what comes back and a reply
 * check that recomputes every checksum here, independently of the program and the codecs.
 *
 * DNS messages themselves come from dns-packet; this module only frames and inspects them.
 */
import * as dnsPacket from 'dns-packet';
import { isIPv4 } from 'net';

export const ETH_P_IPV4 = 0x0800;
export const ETH_P_IPV6 = 0x86dd;
export const ETH_P_8021Q = 0x8100;
export const ETH_P_8021AD = 0x88a8;
export const IPPROTO_UDP = 17;
export const IPPROTO_TCP = 6;

export const CLIENT_MAC = Buffer.from('02000000c001', 'hex');
export const SERVER_MAC = Buffer.from('02000000d002', 'hex');

export interface VlanTag {
  tpid: number;
  vid: number;
}

export interface FrameSpec {
  /** Client address (the query's source); the family follows from it. */
  src: string;
  /** Server address (the query's destination). */
  dst: string;
  sport?: number;
  dport?: number;
  /** Outermost first. */
  vlans?: VlanTag[];
  /** IPv4 options, a multiple of 4 bytes (at most 40). */
  ipv4Options?: Buffer;
  /** IPv4 flags and fragment offset field (default DF). */
  ipv4FragField?: number;
  /** IPv6 next header (default UDP); anything else is sent as a bare 8-byte header chain. */
  ipv6NextHeader?: number;
  /** Zero-pad the frame to this length after the IP packet, as Ethernet does for short frames. */
  padTo?: number;
  /** 'valid' (default), 'zero' (IPv4 only: no checksum) or 'partial' (the pseudo-header seed a
   * sender with checksum offload leaves, as native XDP sees on veth). */
  udpChecksum?: 'valid' | 'zero' | 'partial';
}

export interface ParsedFrame {
  dstMac: Buffer;
  srcMac: Buffer;
  vlans: VlanTag[];
  ip: Ipv4Header | Ipv6Header;
  udp: { sport: number; dport: number; length: number; checksum: number };
  /** The UDP payload, cut at the UDP length. */
  payload: Buffer;
  /** Bytes of the frame after the IP packet (Ethernet padding). */
  trailer: Buffer;
}

export interface Ipv4Header {
  version: 4;
  ihl: number;
  tos: number;
  totalLength: number;
  id: number;
  fragField: number;
  ttl: number;
  protocol: number;
  checksum: number;
  src: string;
  dst: string;
  /** The header bytes (options included), to verify the checksum. */
  raw: Buffer;
}

export interface Ipv6Header {
  version: 6;
  trafficClassFlow: number;
  payloadLength: number;
  nextHeader: number;
  hopLimit: number;
  src: string;
  dst: string;
}

// ---- addresses ----------------------------------------------------------------------------

export function addressBytes(addr: string): Buffer {
  if (isIPv4(addr)) return Buffer.from(addr.split('.').map(Number));
  const [head, tail] = addr.split('::');
  const words = (s: string | undefined) => (s ? s.split(':').map((w) => parseInt(w, 16)) : []);
  const h = words(head);
  const t = words(tail);
  const all = tail === undefined ? h : [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  if (all.length !== 8 || all.some((w) => !(w >= 0 && w <= 0xffff))) throw new RangeError(`bad IPv6 address ${addr}`);
  const out = Buffer.alloc(16);
  all.forEach((w, i) => out.writeUInt16BE(w, 2 * i));
  return out;
}

function addressText(b: Buffer): string {
  if (b.length === 4) return [...b].join('.');
  const words: string[] = [];
  for (let i = 0; i < 16; i += 2) words.push(b.readUInt16BE(i).toString(16));
  return words.join(':');
}

/** Canonical text for comparing addresses however they were written. */
export function normalizeAddress(addr: string): string {
  return addressText(addressBytes(addr));
}

// ---- checksums ----------------------------------------------------------------------------

/** One's-complement sum of big-endian 16-bit words (odd length: zero-padded), folded. */
export function onesSum(...parts: Buffer[]): number {
  const all = Buffer.concat(parts);
  let sum = 0;
  for (let i = 0; i < all.length; i += 2) sum += (all[i] << 8) | (i + 1 < all.length ? all[i + 1] : 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

export function ipv4HeaderChecksum(header: Buffer): number {
  const h = Buffer.from(header);
  h.writeUInt16BE(0, 10);
  return ~onesSum(h) & 0xffff;
}

function pseudoHeader(src: Buffer, dst: Buffer, udpLength: number): Buffer {
  if (src.length === 4) {
    const p = Buffer.alloc(12);
    src.copy(p, 0);
    dst.copy(p, 4);
    p[9] = IPPROTO_UDP;
    p.writeUInt16BE(udpLength, 10);
    return p;
  }
  const p = Buffer.alloc(40);
  src.copy(p, 0);
  dst.copy(p, 16);
  p.writeUInt32BE(udpLength, 32);
  p[39] = IPPROTO_UDP;
  return p;
}

/** The checksum field value for a UDP datagram (its own checksum field is ignored). */
export function udpChecksum(src: Buffer, dst: Buffer, datagram: Buffer): number {
  const d = Buffer.from(datagram);
  d.writeUInt16BE(0, 6);
  const c = ~onesSum(pseudoHeader(src, dst, d.length), d) & 0xffff;
  return c === 0 ? 0xffff : c;
}

// ---- building -----------------------------------------------------------------------------

/** A complete Ethernet frame carrying `payload` (a DNS message) from client to server. */
export function buildFrame(spec: FrameSpec, payload: Buffer): Buffer {
  const src = addressBytes(spec.src);
  const dst = addressBytes(spec.dst);
  const udp = Buffer.alloc(8 + payload.length);
  udp.writeUInt16BE(spec.sport ?? 40000, 0);
  udp.writeUInt16BE(spec.dport ?? 53, 2);
  udp.writeUInt16BE(udp.length, 4);
  payload.copy(udp, 8);
  const mode = spec.udpChecksum ?? 'valid';
  if (mode === 'valid') udp.writeUInt16BE(udpChecksum(src, dst, udp), 6);
  else if (mode === 'partial') udp.writeUInt16BE(onesSum(pseudoHeader(src, dst, udp.length)), 6);
  return frameAround(spec, udp, IPPROTO_UDP);
}

/** A TCP segment (PSH+ACK, `dataOffset` 32-bit words of header, zero options) carrying
 * `payload`, framed as buildFrame frames a datagram. Its TCP checksum is left zero: nothing
 * that reads these frames checks it. */
export function buildTcpFrame(spec: FrameSpec, payload: Buffer, opts: { dataOffset?: number } = {}): Buffer {
  const dataOffset = opts.dataOffset ?? 5;
  // A data offset under 5 (invalid) still gets the whole 20-byte header, payload after it.
  const headerLength = Math.max(5, dataOffset) * 4;
  const tcp = Buffer.alloc(headerLength + payload.length);
  tcp.writeUInt16BE(spec.sport ?? 40000, 0);
  tcp.writeUInt16BE(spec.dport ?? 53, 2);
  tcp.writeUInt32BE(1, 4);
  tcp.writeUInt32BE(1, 8);
  tcp[12] = (dataOffset & 0xf) << 4;
  tcp[13] = 0x18; // PSH, ACK
  tcp.writeUInt16BE(0xffff, 14);
  payload.copy(tcp, headerLength);
  return frameAround(spec, tcp, IPPROTO_TCP);
}

/** A DNS message as TCP carries it: its 2-byte length first (RFC 1035 4.2.2). */
export function dnsOverTcp(msg: Buffer): Buffer {
  return Buffer.concat([Buffer.from([msg.length >> 8, msg.length & 0xff]), msg]);
}

/** Ethernet (with the spec's VLAN tags) and IP headers around a layer-4 packet. */
function frameAround(spec: FrameSpec, l4: Buffer, protocol: number): Buffer {
  const src = addressBytes(spec.src);
  const dst = addressBytes(spec.dst);
  if (src.length !== dst.length) throw new RangeError('source and destination families differ');
  const v6 = src.length === 16;

  let l3: Buffer;
  if (!v6) {
    const options = spec.ipv4Options ?? Buffer.alloc(0);
    if (options.length % 4 || options.length > 40) throw new RangeError('IPv4 options must be 0..40 bytes, a multiple of 4');
    const h = Buffer.alloc(20 + options.length);
    h[0] = 0x40 | (h.length / 4);
    h.writeUInt16BE(h.length + l4.length, 2);
    h.writeUInt16BE(0x1234, 4);
    h.writeUInt16BE(spec.ipv4FragField ?? 0x4000, 6);
    h[8] = 63;
    h[9] = protocol;
    src.copy(h, 12);
    dst.copy(h, 16);
    options.copy(h, 20);
    h.writeUInt16BE(ipv4HeaderChecksum(h), 10);
    l3 = Buffer.concat([h, l4]);
  } else {
    const next = spec.ipv6NextHeader ?? protocol;
    // Another next header gets one 8-byte extension header that chains to the layer-4 protocol.
    const ext = next === protocol ? Buffer.alloc(0) : Buffer.from([protocol, 0, 0, 0, 0, 0, 0, 0]);
    const h = Buffer.alloc(40);
    h.writeUInt32BE(0x60012345, 0);
    h.writeUInt16BE(ext.length + l4.length, 4);
    h[6] = next;
    h[7] = 63;
    src.copy(h, 8);
    dst.copy(h, 24);
    l3 = Buffer.concat([h, ext, l4]);
  }

  const vlans = spec.vlans ?? [];
  const l2 = Buffer.alloc(14 + 4 * vlans.length);
  SERVER_MAC.copy(l2, 0);
  CLIENT_MAC.copy(l2, 6);
  let off = 12;
  for (const tag of vlans) {
    l2.writeUInt16BE(tag.tpid, off);
    l2.writeUInt16BE(tag.vid & 0xfff, off + 2);
    off += 4;
  }
  l2.writeUInt16BE(v6 ? ETH_P_IPV6 : ETH_P_IPV4, off);

  const frame = Buffer.concat([l2, l3]);
  if (spec.padTo && spec.padTo > frame.length) return Buffer.concat([frame, Buffer.alloc(spec.padTo - frame.length)]);
  return frame;
}

export interface QuerySpec {
  name: string;
  type?: string;
  id?: number;
  rd?: boolean;
  cd?: boolean;
  /** Adds an OPT record with this UDP payload size. */
  edns?: { udpSize: number; dnssecOk?: boolean };
}

/** A DNS query encoded by dns-packet (the name's case is kept as given). */
export function dnsQuery(q: QuerySpec): Buffer {
  const flags = (q.rd ? dnsPacket.RECURSION_DESIRED : 0) | (q.cd ? dnsPacket.CHECKING_DISABLED : 0);
  return dnsPacket.encode({
    type: 'query',
    id: q.id ?? 0x4242,
    flags,
    questions: [{ name: q.name, type: (q.type ?? 'A') as dnsPacket.RecordType, class: 'IN' }],
    additionals: q.edns
      ? [
          {
            type: 'OPT',
            name: '.',
            udpPayloadSize: q.edns.udpSize,
            flags: q.edns.dnssecOk ? dnsPacket.DNSSEC_OK : 0,
          } as dnsPacket.Answer,
        ]
      : [],
  });
}

// ---- parsing and verifying ----------------------------------------------------------------

export function parseFrame(frame: Buffer): ParsedFrame {
  const need = (n: number, what: string) => {
    if (frame.length < n) throw new Error(`frame of ${frame.length} bytes is too short for ${what}`);
  };
  need(14, 'Ethernet');
  const vlans: VlanTag[] = [];
  let off = 12;
  let proto = frame.readUInt16BE(off);
  while (proto === ETH_P_8021Q || proto === ETH_P_8021AD) {
    need(off + 6, 'a VLAN tag');
    vlans.push({ tpid: proto, vid: frame.readUInt16BE(off + 2) & 0xfff });
    off += 4;
    proto = frame.readUInt16BE(off);
  }
  off += 2;
  let ip: Ipv4Header | Ipv6Header;
  let l4: number;
  let l4End: number;
  if (proto === ETH_P_IPV4) {
    need(off + 20, 'IPv4');
    const ihl = frame[off] & 0xf;
    need(off + ihl * 4, 'IPv4 options');
    ip = {
      version: 4,
      ihl,
      tos: frame[off + 1],
      totalLength: frame.readUInt16BE(off + 2),
      id: frame.readUInt16BE(off + 4),
      fragField: frame.readUInt16BE(off + 6),
      ttl: frame[off + 8],
      protocol: frame[off + 9],
      checksum: frame.readUInt16BE(off + 10),
      src: addressText(frame.subarray(off + 12, off + 16)),
      dst: addressText(frame.subarray(off + 16, off + 20)),
      raw: Buffer.from(frame.subarray(off, off + ihl * 4)),
    };
    l4 = off + ihl * 4;
    l4End = off + ip.totalLength;
  } else if (proto === ETH_P_IPV6) {
    need(off + 40, 'IPv6');
    ip = {
      version: 6,
      trafficClassFlow: frame.readUInt32BE(off) & 0x0fffffff,
      payloadLength: frame.readUInt16BE(off + 4),
      nextHeader: frame[off + 6],
      hopLimit: frame[off + 7],
      src: addressText(frame.subarray(off + 8, off + 24)),
      dst: addressText(frame.subarray(off + 24, off + 40)),
    };
    l4 = off + 40;
    l4End = l4 + ip.payloadLength;
  } else {
    throw new Error(`ethertype 0x${proto.toString(16)} is not IP`);
  }
  need(l4End, 'the IP length');
  need(l4 + 8, 'UDP');
  const udp = {
    sport: frame.readUInt16BE(l4),
    dport: frame.readUInt16BE(l4 + 2),
    length: frame.readUInt16BE(l4 + 4),
    checksum: frame.readUInt16BE(l4 + 6),
  };
  return {
    dstMac: Buffer.from(frame.subarray(0, 6)),
    srcMac: Buffer.from(frame.subarray(6, 12)),
    vlans,
    ip,
    udp,
    payload: Buffer.from(frame.subarray(l4 + 8, l4 + udp.length)),
    trailer: Buffer.from(frame.subarray(l4End)),
  };
}

/**
 * Checks that `reply` is a well-formed answer to `query` as the program must build it (MACs,
 * addresses and ports swapped, VLAN tags kept, fresh IP header, exact lengths, valid IPv4 header
 * checksum and full UDP checksum, no trailing bytes) and returns the DNS message it carries.
 * Throws an Error naming the first difference.
 */
export function verifyReply(query: Buffer, reply: Buffer): { parsed: ParsedFrame; dns: Buffer } {
  const q = parseFrame(query);
  const r = parseFrame(reply);
  const fail = (what: string, got: unknown, want: unknown) => {
    throw new Error(`reply ${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
  };
  if (!r.dstMac.equals(q.srcMac)) fail('destination MAC', r.dstMac.toString('hex'), q.srcMac.toString('hex'));
  if (!r.srcMac.equals(q.dstMac)) fail('source MAC', r.srcMac.toString('hex'), q.dstMac.toString('hex'));
  if (JSON.stringify(r.vlans) !== JSON.stringify(q.vlans)) fail('VLAN tags', r.vlans, q.vlans);
  if (r.ip.version !== q.ip.version) fail('IP version', r.ip.version, q.ip.version);
  if (r.ip.src !== q.ip.dst) fail('source address', r.ip.src, q.ip.dst);
  if (r.ip.dst !== q.ip.src) fail('destination address', r.ip.dst, q.ip.src);
  if (r.udp.sport !== q.udp.dport) fail('source port', r.udp.sport, q.udp.dport);
  if (r.udp.dport !== q.udp.sport) fail('destination port', r.udp.dport, q.udp.sport);
  if (r.trailer.length !== 0) fail('bytes after the IP packet', r.trailer.length, 0);
  if (r.udp.length !== 8 + r.payload.length) fail('UDP length', r.udp.length, 8 + r.payload.length);

  let ipLength: number;
  if (r.ip.version === 4) {
    const ip = r.ip;
    if (ip.ihl !== 5) fail('IPv4 IHL', ip.ihl, 5);
    if (ip.tos !== 0) fail('IPv4 TOS', ip.tos, 0);
    if (ip.id !== 0) fail('IPv4 id', ip.id, 0);
    if (ip.fragField !== 0x4000) fail('IPv4 flags/fragment', ip.fragField, 0x4000);
    if (ip.ttl !== 64) fail('IPv4 TTL', ip.ttl, 64);
    if (ip.protocol !== IPPROTO_UDP) fail('IPv4 protocol', ip.protocol, IPPROTO_UDP);
    if (ip.checksum !== ipv4HeaderChecksum(ip.raw)) fail('IPv4 header checksum', ip.checksum, ipv4HeaderChecksum(ip.raw));
    ipLength = ip.totalLength - 20;
  } else {
    const ip = r.ip as Ipv6Header;
    if (ip.trafficClassFlow !== 0) fail('IPv6 traffic class/flow', ip.trafficClassFlow, 0);
    if (ip.nextHeader !== IPPROTO_UDP) fail('IPv6 next header', ip.nextHeader, IPPROTO_UDP);
    if (ip.hopLimit !== 64) fail('IPv6 hop limit', ip.hopLimit, 64);
    ipLength = ip.payloadLength;
  }
  if (ipLength !== r.udp.length) fail('IP payload length', ipLength, r.udp.length);

  const datagram = Buffer.alloc(r.udp.length);
  datagram.writeUInt16BE(r.udp.sport, 0);
  datagram.writeUInt16BE(r.udp.dport, 2);
  datagram.writeUInt16BE(r.udp.length, 4);
  r.payload.copy(datagram, 8);
  const want = udpChecksum(addressBytes(r.ip.src), addressBytes(r.ip.dst), datagram);
  if (r.udp.checksum !== want) fail('UDP checksum', r.udp.checksum.toString(16), want.toString(16));
  return { parsed: r, dns: r.payload };
}
