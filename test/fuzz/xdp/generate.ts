/**
 * One fuzz case from a case generator: a frame built from a query for an installed entry
 * (valid, near-miss, or structurally mutated), a valid frame mutated at the byte level, or
 * random bytes. Framing (VLAN tags, IPv4 options, IPv6 next headers, padding, checksum modes)
 * comes from test/support/packets.
 */
import { addressBytes, buildFrame, buildTcpFrame, dnsOverTcp, ETH_P_8021AD, ETH_P_8021Q, FrameSpec, onesSum } from '../../support/packets';
import type { KeyBits, ModelSettings } from '../model';
import { Rng } from '../random';
import { CookiePlan, cookiePlan } from './cookies';
import { encodeQuery, mutateQuery, plainOpt, QuerySpec, randomCase, UDP_SIZES } from './dns';
import { CLIENT_V4, CLIENT_V6, SERVER_V4, SERVER_V6 } from './settings';
import type { Universe } from './universe';

export interface FuzzCase {
  frame: Buffer;
  /** What produced it, for the report ("valid", "dns:pointer", "frame:truncate", ...). */
  kind: string;
}

const IPV6_NEXT_HEADERS = [0, 43, 44, 50, 51, 59, 60, 135, 139, 140, 253, 254, 6, 58];
const ODD_V4_SOURCES = ['0.1.2.3', '127.0.0.1', '224.0.0.251', '255.255.255.255', '240.0.0.1', '169.254.1.1'];
const ODD_V6_SOURCES = ['::', '::1', 'ff02::1', 'fe80::1', '::ffff:10.0.0.1'];
const ODD_V4_DESTS = ['224.0.0.251', '255.255.255.255', '10.53.0.99', '239.1.2.3'];
const ODD_V6_DESTS = ['ff02::fb', 'ff05::1:3', 'fd53::99'];

/** BPF_PROG_TEST_RUN refuses frames shorter than an Ethernet header (EINVAL), as no driver
 * delivers one. */
export const MIN_TEST_FRAME = 14;

/** What a case is generated for: the settings, and the program's wall-clock second (cookies
 * are minted relative to it). */
export interface CaseContext {
  settings: ModelSettings;
  nowSeconds: number;
}

/** A query and how its frame will be sent; a COOKIE option is filled in once the frame's
 * client address is known. */
type PlannedQuery = QuerySpec & { v6: boolean; cookie?: CookiePlan };

export function generateCase(rng: Rng, universe: Universe, ctx: CaseContext): FuzzCase {
  const c = anyCase(rng, universe, ctx);
  if (c.frame.length >= MIN_TEST_FRAME) return c;
  return { kind: `${c.kind}:zero-filled`, frame: Buffer.concat([c.frame, Buffer.alloc(MIN_TEST_FRAME - c.frame.length)]) };
}

function anyCase(rng: Rng, universe: Universe, ctx: CaseContext): FuzzCase {
  const { settings } = ctx;
  const kind = rng.weighted<string>([
    [30, 'valid'],
    [10, 'near'],
    [25, 'dns'],
    [20, 'frame'],
    [5, 'truncate'],
    [10, 'random'],
    [4, 'tcp'],
  ]);
  switch (kind) {
    case 'valid': {
      const q = validQuery(rng, universe, ctx);
      return { kind: q.cookie ? `valid:cookie-${q.cookie.kind}` : kind, frame: frameFor(rng, settings, q) };
    }
    case 'near': {
      const q = validQuery(rng, universe, ctx);
      return { kind: `near:${nearMiss(q, rng)}`, frame: frameFor(rng, settings, q) };
    }
    case 'dns': {
      const q = validQuery(rng, universe, ctx);
      const spec = frameSpec(rng, settings, q.v6);
      fillCookie(q, spec);
      const what: string[] = q.cookie ? [`cookie-${q.cookie.kind}`] : [];
      for (let i = rng.range(1, 3); i > 0; i--) what.push(mutateQuery(q, rng));
      let msg = encodeQuery(q);
      if (rng.chance(0.15)) {
        msg = msg.subarray(0, rng.int(msg.length + 1));
        what.push('cut');
      }
      if (rng.chance(0.1)) {
        msg = flipBits(msg, rng, 0, msg.length);
        what.push('bits');
      }
      return { kind: `dns:${what.join('+')}`, frame: buildFrame(spec, msg) };
    }
    case 'frame': {
      const valid = frameFor(rng, settings, validQuery(rng, universe, ctx));
      const m = mutateFrame(valid, rng);
      return { kind: `frame:${m.what}`, frame: m.frame };
    }
    case 'truncate': {
      const valid = frameFor(rng, settings, validQuery(rng, universe, ctx));
      return { kind, frame: valid.subarray(0, rng.int(valid.length)) };
    }
    case 'tcp':
      return tcpCase(rng, universe, ctx);
    default:
      return randomFrame(rng, settings);
  }
}

/** A DNS message over TCP, or over UDP in IP fragments (the program answers none, but an UPDATE
 * or NOTIFY at the start of a segment or in a first fragment bumps its zone's generation):
 * opcode, QR, data offset, fragment offset, port and length vary. */
function tcpCase(rng: Rng, universe: Universe, ctx: CaseContext): FuzzCase {
  const q = validQuery(rng, universe, ctx);
  const what: string[] = [];
  // A primary's answer to a zone transfer the server asked for, to its connection's port: the
  // zone's new data arriving (AXFR or IXFR, NOERROR, one question); or near it.
  const transfer = rng.chance(0.3);
  if (transfer) {
    const rcode = rng.pick([0, 0, 0, 5, 9]);
    q.qtype = rng.pick([252, 251, 252, 6]);
    q.flags = 0x8400 | rcode | (rng.chance(0.1) ? rng.pick([4, 5]) << 11 : 0);
    if (rng.chance(0.1)) q.counts[0] = rng.pick([0, 2]);
    what.push(`transfer-qtype${q.qtype}-rcode${rcode}`);
  } else {
    const opcode = rng.pick([0, 4, 5, 5, 4, 2]);
    q.flags = (q.flags & ~0x7800) | (opcode << 11) | (rng.chance(0.1) ? 0x8000 : 0);
    what.push(`opcode${opcode}`);
  }
  const msg = encodeQuery(q);
  let payload = dnsOverTcp(msg);
  if (rng.chance(0.2)) {
    payload = payload.subarray(0, rng.int(payload.length + 1));
    what.push('cut');
  }
  const spec = frameSpec(rng, ctx.settings, q.v6);
  if (transfer && rng.chance(0.7)) spec.dport = 1024 + rng.int(64512);
  if (rng.chance(0.3)) {
    // The same message over UDP, in a first fragment (or, 1 in 3, a later one).
    const cut = what.includes('cut') ? msg.subarray(0, Math.max(0, payload.length - 2)) : msg;
    const frag: FrameSpec = q.v6 ? { ...spec, ipv6NextHeader: 44 } : { ...spec, ipv4FragField: rng.pick([0x2000, 0x2000, 0x2010]) };
    return { kind: `fragment:${what.join('+')}`, frame: buildFrame(frag, cut) };
  }
  const dataOffset = rng.chance(0.9) ? 5 : rng.int(16);
  return { kind: `tcp:${what.join('+')}`, frame: buildTcpFrame(spec, payload, { dataOffset }) };
}

/** A query that hits an installed entry (unless its lease ran out, it is too big, or it
 * carries a cookie that is refused). EDNS queries often carry a COOKIE option, most often
 * when the program answers cookies. */
export function validQuery(rng: Rng, universe: Universe, ctx: CaseContext): PlannedQuery {
  const n = rng.pick(universe.names);
  const bits = rng.pick(n.bits);
  const q: PlannedQuery = queryWithBits(rng, n.wire, n.qtype, bits);
  if (q.opt && rng.chance(ctx.settings.cookie ? 0.6 : 0.1)) q.cookie = cookiePlan(rng, ctx.settings, ctx.nowSeconds);
  return q;
}

/** Writes the planned COOKIE option for the frame's client address into the OPT. */
function fillCookie(q: PlannedQuery, spec: FrameSpec): void {
  if (q.cookie && q.opt) q.opt.rdata = q.cookie.rdata(addressBytes(spec.src));
}

function queryWithBits(rng: Rng, name: Buffer, qtype: number, bits: KeyBits): QuerySpec & { v6: boolean } {
  return {
    v6: bits.v6,
    id: rng.int(0x10000),
    flags: (bits.rd ? 0x0100 : 0) | (rng.chance(0.3) ? 0x0010 : 0) | (rng.chance(0.05) ? 0x0020 : 0),
    counts: [1, 0, 0, bits.edns ? 1 : 0],
    name: randomCase(name, rng),
    qtype,
    qclass: 1,
    opt: bits.edns ? plainOpt(rng.chance(0.5) ? rng.pick(UDP_SIZES) : rng.int(0x10000), bits.dnssecOk) : undefined,
    trailing: Buffer.alloc(0),
  };
}

/** One property that makes the question a different key (or, for case, the same key). */
function nearMiss(q: QuerySpec & { v6: boolean }, rng: Rng): string {
  switch (rng.int(6)) {
    case 0:
      q.flags ^= 0x0100;
      return 'rd';
    case 1:
      if (q.opt) {
        q.opt = undefined;
        q.counts[3] = 0;
      } else {
        q.opt = plainOpt(rng.pick(UDP_SIZES), rng.chance(0.5));
        q.counts[3] = 1;
      }
      return 'edns';
    case 2:
      if (q.opt) q.opt.flags ^= 0x8000;
      return 'do';
    case 3:
      q.v6 = !q.v6;
      return 'family';
    case 4: {
      // Flip bit 0x20 of any byte: a letter (same key) or its neighbours (a different one).
      const i = rng.int(q.name.length);
      if (q.name[i] !== 0 && !isLabelLength(q.name, i)) q.name[i] ^= 0x20;
      return 'case-bit';
    }
    default:
      q.qtype = rng.pick([1, 2, 5, 6, 15, 16, 28, 33, 255]);
      return 'qtype';
  }
}

function isLabelLength(name: Buffer, i: number): boolean {
  let at = 0;
  while (at < name.length && at < i) at += name[at] + 1;
  return at === i;
}

function frameFor(rng: Rng, settings: ModelSettings, q: PlannedQuery): Buffer {
  const spec = frameSpec(rng, settings, q.v6);
  fillCookie(q, spec);
  return buildFrame(spec, encodeQuery(q));
}

export function frameSpec(rng: Rng, settings: ModelSettings, v6: boolean): FrameSpec {
  const served = v6 ? settings.v6Addrs : settings.v4Addrs;
  const dst = rng.weighted<() => string>([
    [60, () => rng.pick(served.length > 0 ? served : [v6 ? SERVER_V6 : SERVER_V4])],
    [35, () => (served.length > 0 ? rng.pick(served) : unicastAddress(rng, v6))],
    [5, () => rng.pick(v6 ? ODD_V6_DESTS : ODD_V4_DESTS)],
  ])();
  const src = rng.weighted<() => string>([
    [60, () => (v6 ? CLIENT_V6 : CLIENT_V4)],
    [35, () => unicastAddress(rng, v6)],
    [5, () => rng.pick(v6 ? ODD_V6_SOURCES : ODD_V4_SOURCES)],
  ])();
  const ports = settings.ports.length > 0 ? settings.ports : [53];
  const tags = rng.weighted([
    [60, 0],
    [25, 1],
    [15, 2],
  ]);
  const spec: FrameSpec = {
    src,
    dst,
    // 0 and the ports named drops requests from (7, 13, 19, 37) now and then.
    sport: rng.weighted<() => number>([
      [97, () => rng.range(1, 65535)],
      [2, () => rng.pick([7, 13, 19, 37])],
      [1, () => 0],
    ])(),
    dport: rng.chance(0.95) ? rng.pick(ports) : rng.int(0x10000),
    vlans: Array.from({ length: tags }, () => ({ tpid: rng.pick([ETH_P_8021Q, ETH_P_8021AD]), vid: rng.int(4096) })),
    udpChecksum: rng.pick(v6 ? (['valid', 'partial'] as const) : (['valid', 'zero', 'partial'] as const)),
  };
  if (!v6 && rng.chance(0.2)) spec.ipv4Options = ipv4Options(rng);
  if (!v6 && rng.chance(0.03)) spec.ipv4FragField = rng.pick([0x2000, 0x0001, 0x1fff, 0x6000, 0x8000, 0x0000]);
  if (v6 && rng.chance(0.08)) spec.ipv6NextHeader = rng.pick(IPV6_NEXT_HEADERS);
  if (rng.chance(0.15)) spec.padTo = rng.range(60, 140);
  return spec;
}

/** Any address a client or server may have: the checksum arithmetic must hold for all of them. */
function unicastAddress(rng: Rng, v6: boolean): string {
  if (v6) return Array.from({ length: 8 }, (_, i) => (i === 0 ? rng.range(0x2000, 0xfdff) : rng.int(0x10000)).toString(16)).join(':');
  const first = rng.pick([rng.range(1, 126), rng.range(128, 223)]);
  return [first, rng.int(256), rng.int(256), rng.range(1, 254)].join('.');
}

function ipv4Options(rng: Rng): Buffer {
  const words = rng.range(1, 10);
  const out = Buffer.alloc(words * 4, 1); // NOP
  if (rng.chance(0.5)) {
    out[0] = 0x44; // timestamp option header, contents arbitrary
    out[1] = Math.min(out.length, 4 + 4 * rng.int(words));
    out[2] = 5;
  }
  if (rng.chance(0.3)) out[out.length - 1] = 0; // EOL
  return out;
}

// ---- byte-level mutations -------------------------------------------------------------------

/** Where the IP header starts, following up to four VLAN tags; -1 if the frame is too short. */
function l3Offset(frame: Buffer): number {
  let off = 12;
  for (let i = 0; i < 4 && off + 2 <= frame.length; i++) {
    const t = frame.readUInt16BE(off);
    if (t !== ETH_P_8021Q && t !== ETH_P_8021AD) break;
    off += 4;
  }
  return off + 2 <= frame.length ? off + 2 : -1;
}

/** Recomputes the IPv4 header checksum so a mutation is judged past that check. */
function fixIpv4Checksum(frame: Buffer): void {
  const l3 = l3Offset(frame);
  if (l3 < 0 || frame.length < l3 + 20 || frame[l3] >> 4 !== 4) return;
  const ihl = (frame[l3] & 0xf) * 4;
  if (ihl < 20 || frame.length < l3 + ihl) return;
  frame.writeUInt16BE(0, l3 + 10);
  frame.writeUInt16BE(~onesSum(frame.subarray(l3, l3 + ihl)) & 0xffff, l3 + 10);
}

function flipBits(b: Buffer, rng: Rng, from: number, to: number): Buffer {
  const out = Buffer.from(b);
  if (to <= from) return out;
  for (let i = rng.range(1, 4); i > 0; i--) out[rng.range(from, to - 1)] ^= 1 << rng.int(8);
  return out;
}

export function mutateFrame(valid: Buffer, rng: Rng): { frame: Buffer; what: string } {
  let f: Buffer = Buffer.from(valid);
  const l3 = l3Offset(f);
  const v4 = l3 >= 0 && f[l3] >> 4 === 4;
  const ihl = v4 ? (f[l3] & 0xf) * 4 : 40;
  const l4 = l3 + ihl;
  let what: string;
  switch (rng.int(10)) {
    case 0:
      what = 'bits-headers';
      f = flipBits(f, rng, 0, Math.min(f.length, l4 + 8));
      break;
    case 1:
      what = 'bits-any';
      f = flipBits(f, rng, 0, f.length);
      break;
    case 2: {
      what = 'ip-length';
      const at = l3 + (v4 ? 2 : 4);
      const cur = f.readUInt16BE(at);
      f.writeUInt16BE(rng.pick([0, 1, 0xffff, cur + 1, cur - 1, cur + rng.range(2, 64), Math.max(0, cur - rng.range(2, 64)), rng.int(0x10000)]) & 0xffff, at);
      break;
    }
    case 3: {
      what = 'udp-length';
      const cur = f.readUInt16BE(l4 + 4);
      f.writeUInt16BE(rng.pick([0, 7, 8, 20, 0xffff, cur + 1, cur - 1, cur + rng.range(2, 64), rng.int(0x10000)]) & 0xffff, l4 + 4);
      break;
    }
    case 4: {
      what = 'vlan-stack';
      const tags = Array.from({ length: rng.range(1, 3) }, () => Buffer.from([rng.pick([0x81, 0x88]), rng.pick([0x00, 0xa8]), rng.int(16), rng.int(256)]));
      f = Buffer.concat([f.subarray(0, 12), ...tags, f.subarray(12)]);
      break;
    }
    case 5:
      what = 'ethertype';
      f.writeUInt16BE(rng.pick([0x0806, 0x86dd, 0x0800, 0x8100, 0x88a8, 0x9100, rng.int(0x10000)]), l3 - 2);
      break;
    case 6:
      what = v4 ? 'ihl' : 'version';
      if (v4) f[l3] = 0x40 | rng.int(16);
      else f[l3] = (rng.int(16) << 4) | (f[l3] & 0xf);
      break;
    case 7:
      what = 'protocol';
      f[l3 + (v4 ? 9 : 6)] = rng.pick([6, 1, 17, 44, 0, 58, rng.int(256)]);
      break;
    case 8:
      what = 'group-mac';
      f[rng.pick([0, 6])] |= 1;
      break;
    default:
      what = 'trailer';
      f = Buffer.concat([f, rng.bytes(rng.range(1, 40))]);
  }
  if (rng.chance(0.6)) fixIpv4Checksum(f);
  return { frame: f, what };
}

function randomFrame(rng: Rng, settings: ModelSettings): FuzzCase {
  switch (rng.int(3)) {
    case 0:
      return { kind: 'random:bytes', frame: rng.bytes(rng.int(160)) };
    case 1: {
      const eth = Buffer.from('02000000d00202000000c001', 'hex');
      return { kind: 'random:after-ethertype', frame: Buffer.concat([eth, Buffer.from([rng.pick([0x08, 0x86, 0x81]), rng.pick([0x00, 0xdd])]), rng.bytes(rng.int(120))]) };
    }
    default: {
      // Valid L2-L4 around a random DNS message.
      const v6 = rng.chance(0.5);
      return { kind: 'random:dns-payload', frame: buildFrame(frameSpec(rng, settings, v6), rng.bytes(rng.range(0, 100))) };
    }
  }
}

