/**
 * Layers 2 to 4 of an arriving frame: Ethernet with up to two VLAN tags, IPv4 or IPv6, UDP.
 * Either the frame carries a UDP datagram to a served port and address whose lengths agree,
 * or it passes with the reason the issue assigns. `dnsQuery` records whether the packet got as
 * far as "UDP to a served port and address" (the DNS_QUERIES counter).
 */
import { onesSum } from '../../support/packets';
import { servesPort, servesV4, servesV6, unicastSourceV4, unicastSourceV6 } from './addresses';
import type { ModelSettings, PassReason } from './types';
import { l4ZoneChangeOf, v6FragmentZoneChangeOf } from './zone-change';

const ETH_HEADER = 14;
const VLAN_TAG = 4;
const MAX_VLAN_TAGS = 2;
const TPID_8021Q = 0x8100;
const TPID_8021AD = 0x88a8;
const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
const IPV4_MIN_HEADER = 20;
const IPV6_HEADER = 40;
const UDP_HEADER = 8;
const DNS_HEADER = 12;
const PROTO_UDP = 17;
const PROTO_TCP = 6;
const IPV6_FRAGMENT = 44;
/** RFC 8200 section 4 and the IANA list of extension headers (RFC 7045). */
const IPV6_EXTENSION_HEADERS = new Set([0, 43, 50, 51, 60, 135, 139, 140, 253, 254]);

export interface Datagram {
  /** Ethernet header with its VLAN tags. */
  l2Len: number;
  family: 4 | 6;
  src: Buffer;
  dst: Buffer;
  sport: number;
  dport: number;
  /** The DNS message: the UDP payload cut at the UDP length (Ethernet padding dropped). */
  dns: Buffer;
  /** Frame bytes from the DNS message's start to the frame's end (padding included). */
  frameRest: number;
}

/** `zoneChange`: an UPDATE or NOTIFY over TCP for this zone (model/zone-change.ts). */
export type HeaderVerdict = { pass: PassReason; dnsQuery: boolean; zoneChange?: Buffer } | { datagram: Datagram };

const pass = (reason: PassReason, dnsQuery: boolean): HeaderVerdict => ({ pass: reason, dnsQuery });

export function parseHeaders(frame: Buffer, settings: ModelSettings): HeaderVerdict {
  if (frame.length < ETH_HEADER) return pass('PASS_NOT_DNS', false);
  // The I/G bit: a group destination is not addressed to this host, a group source cannot be
  // answered.
  if ((frame[0] | frame[6]) & 1) return pass('PASS_NOT_DNS', false);
  let l2Len = ETH_HEADER;
  let ethertype = frame.readUInt16BE(12);
  for (let tags = 0; tags < MAX_VLAN_TAGS && (ethertype === TPID_8021Q || ethertype === TPID_8021AD); tags++) {
    if (frame.length < l2Len + VLAN_TAG) return pass('PASS_NOT_DNS', false);
    ethertype = frame.readUInt16BE(l2Len + 2);
    l2Len += VLAN_TAG;
  }
  if (ethertype === ETHERTYPE_IPV4) return parseIpv4(frame, l2Len, settings);
  if (ethertype === ETHERTYPE_IPV6) return parseIpv6(frame, l2Len, settings);
  return pass('PASS_NOT_DNS', false);
}

function parseIpv4(frame: Buffer, l2Len: number, settings: ModelSettings): HeaderVerdict {
  if (frame.length < l2Len + IPV4_MIN_HEADER) return pass('PASS_MALFORMED', false);
  const ip = frame.subarray(l2Len);
  const headerLen = (ip[0] & 0xf) * 4;
  if (ip[0] >> 4 !== 4 || headerLen < IPV4_MIN_HEADER) return pass('PASS_MALFORMED', false);
  const dst = Buffer.from(ip.subarray(16, 20));
  if (ip[9] !== PROTO_UDP) {
    const zoneChange =
      ip[9] === PROTO_TCP && servesV4(settings, dst) && !(ip.readUInt16BE(6) & 0x3fff)
        ? l4ZoneChangeOf(frame, l2Len + headerLen, l2Len + ip.readUInt16BE(2), true, (port) => servesPort(settings, port))
        : undefined;
    return { pass: 'PASS_NOT_DNS', dnsQuery: false, ...(zoneChange ? { zoneChange } : {}) };
  }
  if (!servesV4(settings, dst)) return pass('PASS_NOT_DNS', false);
  if (ip.readUInt16BE(6) & 0x3fff) {
    // MF or an offset; the first fragment may still announce a zone change.
    const zoneChange = ip.readUInt16BE(6) & 0x1fff ? undefined : l4ZoneChangeOf(frame, l2Len + headerLen, l2Len + ip.readUInt16BE(2), false, (port) => servesPort(settings, port));
    return { pass: 'PASS_FRAGMENT', dnsQuery: false, ...(zoneChange ? { zoneChange } : {}) };
  }
  if (ip.length < headerLen + UDP_HEADER) return pass('PASS_MALFORMED', false);
  const dport = ip.readUInt16BE(headerLen + 2);
  if (!servesPort(settings, dport)) return pass('PASS_NOT_DNS', false);
  // From here on the packet is a query to us, good or bad.
  const totalLen = ip.readUInt16BE(2);
  if (totalLen < headerLen + UDP_HEADER || totalLen > ip.length) return pass('PASS_MALFORMED', true);
  // RFC 1071 verification: the header summed with its checksum is all ones (the kernel
  // drops anything else before BIND could see it).
  if (onesSum(ip.subarray(0, headerLen)) !== 0xffff) return pass('PASS_MALFORMED', true);
  const src = Buffer.from(ip.subarray(12, 16));
  if (!unicastSourceV4(src)) return pass('PASS_UNSUPPORTED', true);
  return parseUdp(ip.subarray(headerLen, totalLen), { l2Len, family: 4, src, dst }, frame.length - (l2Len + headerLen + UDP_HEADER));
}

function parseIpv6(frame: Buffer, l2Len: number, settings: ModelSettings): HeaderVerdict {
  if (frame.length < l2Len + IPV6_HEADER) return pass('PASS_MALFORMED', false);
  const ip = frame.subarray(l2Len);
  if (ip[0] >> 4 !== 6) return pass('PASS_MALFORMED', false);
  const src = Buffer.from(ip.subarray(8, 24));
  const dst = Buffer.from(ip.subarray(24, 40));
  if (!servesV6(settings, dst)) return pass('PASS_NOT_DNS', false);
  const next = ip[6];
  if (next === IPV6_FRAGMENT) {
    const zoneChange = v6FragmentZoneChangeOf(frame, l2Len + IPV6_HEADER, l2Len + IPV6_HEADER + ip.readUInt16BE(4), (port) => servesPort(settings, port));
    return { pass: 'PASS_FRAGMENT', dnsQuery: false, ...(zoneChange ? { zoneChange } : {}) };
  }
  if (IPV6_EXTENSION_HEADERS.has(next)) return pass('PASS_UNSUPPORTED', false);
  if (next !== PROTO_UDP) {
    const zoneChange = next === PROTO_TCP ? l4ZoneChangeOf(frame, l2Len + IPV6_HEADER, l2Len + IPV6_HEADER + ip.readUInt16BE(4), true, (port) => servesPort(settings, port)) : undefined;
    return { pass: 'PASS_NOT_DNS', dnsQuery: false, ...(zoneChange ? { zoneChange } : {}) };
  }
  if (ip.length < IPV6_HEADER + UDP_HEADER) return pass('PASS_MALFORMED', false);
  if (!servesPort(settings, ip.readUInt16BE(IPV6_HEADER + 2))) return pass('PASS_NOT_DNS', false);
  const payloadLen = ip.readUInt16BE(4);
  if (payloadLen < UDP_HEADER || IPV6_HEADER + payloadLen > ip.length) return pass('PASS_MALFORMED', true);
  if (!unicastSourceV6(src)) return pass('PASS_UNSUPPORTED', true);
  return parseUdp(ip.subarray(IPV6_HEADER, IPV6_HEADER + payloadLen), { l2Len, family: 6, src, dst }, frame.length - (l2Len + IPV6_HEADER + UDP_HEADER));
}

/** `udp` is the datagram as the IP length delimits it. */
function parseUdp(udp: Buffer, l3: Pick<Datagram, 'l2Len' | 'family' | 'src' | 'dst'>, frameRest: number): HeaderVerdict {
  if (udp.readUInt16BE(4) !== udp.length) return pass('PASS_MALFORMED', true);
  const sport = udp.readUInt16BE(0);
  if (sport === 0) return pass('PASS_UNSUPPORTED', true); // BIND drops queries from port 0
  // A header and at least the root name's byte.
  if (udp.length < UDP_HEADER + DNS_HEADER + 1) return pass('PASS_MALFORMED', true);
  return { datagram: { ...l3, sport, dport: udp.readUInt16BE(2), dns: Buffer.from(udp.subarray(UDP_HEADER)), frameRest } };
}
