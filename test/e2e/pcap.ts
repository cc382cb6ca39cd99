/**
 * Just enough of the classic pcap format (what `tcpdump -w` writes for an Ethernet interface) to
 * pull the UDP datagrams out of a capture and check their IPv4 header and UDP checksums
 * independently of the kernel, which on veth may trust a checksum it never verifies.
 */

export interface UdpDatagram {
  family: 4 | 6;
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  payload: Buffer;
  /** IPv4 header checksum verifies (always true for IPv6, which has none). */
  ipChecksumOk: boolean;
  /** The UDP checksum field as sent (0 means "none" in IPv4). */
  udpChecksum: number;
  /** The UDP checksum verifies over pseudo-header, header and payload. */
  udpChecksumOk: boolean;
}

const LINKTYPE_ETHERNET = 1;
const ETH_P_IP = 0x0800;
const ETH_P_IPV6 = 0x86dd;
const VLAN_TAGS = new Set([0x8100, 0x88a8]);
const IPPROTO_UDP = 17;

export function parsePcap(file: Buffer): UdpDatagram[] {
  if (file.length < 24) throw new Error(`pcap: ${file.length} bytes is shorter than the file header`);
  const magic = file.readUInt32LE(0);
  let le: boolean;
  if (magic === 0xa1b2c3d4 || magic === 0xa1b23c4d) le = true;
  else if (magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1) le = false;
  else throw new Error(`pcap: unknown magic 0x${magic.toString(16)}`);
  const u32 = (o: number) => (le ? file.readUInt32LE(o) : file.readUInt32BE(o));
  const linkType = u32(20) & 0x0fffffff;
  if (linkType !== LINKTYPE_ETHERNET) throw new Error(`pcap: link type ${linkType}, expected Ethernet`);
  const out: UdpDatagram[] = [];
  // A capture stopped mid-write may end in a partial record; everything before it is whole.
  for (let off = 24; off + 16 <= file.length; ) {
    const caplen = u32(off + 8);
    const wirelen = u32(off + 12);
    const start = off + 16;
    if (start + caplen > file.length) break;
    if (caplen === wirelen) {
      const d = parseFrame(file.subarray(start, start + caplen));
      if (d) out.push(d);
    }
    off = start + caplen;
  }
  return out;
}

function parseFrame(frame: Buffer): UdpDatagram | undefined {
  let off = 12;
  if (frame.length < off + 2) return undefined;
  let etherType = frame.readUInt16BE(off);
  while (VLAN_TAGS.has(etherType) && frame.length >= off + 6) {
    off += 4;
    etherType = frame.readUInt16BE(off);
  }
  off += 2;
  if (etherType === ETH_P_IP) return parseIpv4(frame.subarray(off));
  if (etherType === ETH_P_IPV6) return parseIpv6(frame.subarray(off));
  return undefined;
}

function parseIpv4(p: Buffer): UdpDatagram | undefined {
  if (p.length < 20 || p[0] >> 4 !== 4) return undefined;
  const ihl = (p[0] & 0x0f) * 4;
  const total = p.readUInt16BE(2);
  if (p[9] !== IPPROTO_UDP || total > p.length || ihl + 8 > total) return undefined;
  const udp = p.subarray(ihl, total);
  const src = p.subarray(12, 16);
  const dst = p.subarray(16, 20);
  const pseudo = Buffer.concat([src, dst, Buffer.from([0, IPPROTO_UDP]), u16(udp.length)]);
  return datagram(4, [...src].join('.'), [...dst].join('.'), udp, pseudo, fold(sum16(p.subarray(0, ihl))) === 0xffff);
}

function parseIpv6(p: Buffer): UdpDatagram | undefined {
  if (p.length < 40 || p[0] >> 4 !== 6 || p[6] !== IPPROTO_UDP) return undefined;
  const payloadLen = p.readUInt16BE(4);
  if (40 + payloadLen > p.length) return undefined;
  const udp = p.subarray(40, 40 + payloadLen);
  const src = p.subarray(8, 24);
  const dst = p.subarray(24, 40);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(udp.length);
  const pseudo = Buffer.concat([src, dst, len, Buffer.from([0, 0, 0, IPPROTO_UDP])]);
  return datagram(6, ipv6Text(src), ipv6Text(dst), udp, pseudo, true);
}

function datagram(family: 4 | 6, src: string, dst: string, udp: Buffer, pseudo: Buffer, ipChecksumOk: boolean): UdpDatagram | undefined {
  if (udp.length < 8 || udp.readUInt16BE(4) !== udp.length) return undefined;
  const udpChecksum = udp.readUInt16BE(6);
  const verifies = fold(sum16(pseudo) + sum16(udp)) === 0xffff;
  return {
    family,
    src,
    dst,
    srcPort: udp.readUInt16BE(0),
    dstPort: udp.readUInt16BE(2),
    payload: Buffer.from(udp.subarray(8)),
    ipChecksumOk,
    udpChecksum,
    // IPv6 forbids the "no checksum" value 0 (RFC 8200 8.1); for IPv4 we want a real one too.
    udpChecksumOk: udpChecksum !== 0 && verifies,
  };
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

function sum16(b: Buffer): number {
  let s = 0;
  for (let i = 0; i + 1 < b.length; i += 2) s += b.readUInt16BE(i);
  if (b.length % 2) s += b[b.length - 1] << 8;
  return s;
}

function fold(s: number): number {
  let x = s;
  while (x > 0xffff) x = (x & 0xffff) + Math.floor(x / 0x10000);
  return x;
}

function ipv6Text(b: Buffer): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16));
  // Compress the longest run of zero groups, as inet_ntop does, so addresses compare as usually written.
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}
