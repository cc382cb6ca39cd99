/**
 * Encoders and decoders for Santa's maps: pure functions from DNS data to the exact bytes of
 * keys, values, settings and counters laid out by santa_abi.h (offsets from ./abi).
 *
 * Integers not marked "wire" in the header are in host byte order, so they are written with
 * this machine's endianness; wire fields are big-endian.
 */
import { endianness } from 'os';
import { perCpuStride, SantaAbi, santaAbi } from './abi';
import { addBytes, addWord, foldSum } from './checksum';
import { classCode, lowerWireName, lowerWireNameInPlace, nameToWire, typeCode, wireNameLabels, wireNamesEqual, wireToName } from './dns-wire';
import { analyzeReply, ReplyLayout } from './reply-layout';
import { rrlIdentity } from '../rrl/identity';
import type { AddressPrefix } from '../named-conf/address-match';
import { formatIpv6, ipv4Bytes, ipv6Bytes, prefixMask } from '../net/ip';

const HOST_LE = endianness() === 'LE';
const IPPROTO_UDP = 17;
const UDP_HEADER = 8;
const FLAG_QR = 0x8000;
const FLAG_TC = 0x0200;
const FLAG_RD = 0x0100;
const FLAG_CD = 0x0010;

export class CacheEncodeError extends Error {
  constructor(what: string, problem: string) {
    super(`cannot cache ${what}: ${problem}`);
    this.name = 'CacheEncodeError';
  }
}

// ---- keys ---------------------------------------------------------------------------------

export interface Question {
  /** Presentation format ("www.example.test.") or a wire-format name. Case is irrelevant. */
  name: string | Uint8Array;
  type: string | number;
  /** Default IN. */
  class?: string | number;
}

/** The query properties that select a distinct BIND response. */
export interface QueryBits {
  recursionDesired: boolean;
  edns: boolean;
  dnssecOk: boolean;
  /** Asked over IPv6: BIND orders A/AAAA glue by the client's address family. */
  ipv6?: boolean;
}

export interface CacheKey {
  /** A struct santa_key without its zero padding: the header, then the name's bytes. */
  key: Buffer;
}

export interface DecodedKey {
  /** Lower-cased wire name. */
  name: Buffer;
  qtype: number;
  qclass: number;
  flags: number;
}

export function keyFlags(bits: QueryBits, abi: SantaAbi = santaAbi()): number {
  if (bits.dnssecOk && !bits.edns) throw new RangeError('DO needs EDNS: a query without OPT has no DO bit');
  return (
    (bits.recursionDesired ? abi.keyFlags.RD : 0) |
    (bits.edns ? abi.keyFlags.EDNS : 0) |
    (bits.dnssecOk ? abi.keyFlags.DO : 0) |
    (bits.ipv6 ? abi.keyFlags.V6 : 0)
  );
}

export function queryBits(flags: number, abi: SantaAbi = santaAbi()): QueryBits {
  return {
    recursionDesired: (flags & abi.keyFlags.RD) !== 0,
    edns: (flags & abi.keyFlags.EDNS) !== 0,
    dnssecOk: (flags & abi.keyFlags.DO) !== 0,
    ipv6: (flags & abi.keyFlags.V6) !== 0,
  };
}

function checkKeyFlags(flags: number, abi: SantaAbi): void {
  const known = abi.keyFlags.RD | abi.keyFlags.EDNS | abi.keyFlags.DO | abi.keyFlags.V6;
  if (!Number.isInteger(flags) || (flags & ~known) !== 0) throw new RangeError(`key flags 0x${flags.toString(16)} has unknown bits`);
  if (flags & abi.keyFlags.DO && !(flags & abi.keyFlags.EDNS)) throw new RangeError('key flag DO set without EDNS');
}

/** The key under which the XDP program looks up `question` asked with these query bits. */
export function cacheKey(question: Question, flags: number, abi: SantaAbi = santaAbi()): CacheKey {
  checkKeyFlags(flags, abi);
  let name: Buffer;
  if (typeof question.name === 'string') {
    name = lowerWireNameInPlace(nameToWire(question.name)); // a fresh, valid name of our own
  } else {
    wireNameLabels(question.name);
    name = lowerWireName(question.name);
  }
  if (name.length > abi.limits.NAME_MAX) throw new RangeError(`a wire name is at most ${abi.limits.NAME_MAX} bytes, not ${name.length}`);
  const h = abi.keyHeader;
  const key = Buffer.alloc(abi.key.name + name.length);
  key.writeUInt16BE(typeCode(question.type), h.qtype);
  key.writeUInt16BE(classCode(question.class ?? 'IN'), h.qclass);
  key[h.flags] = flags;
  key[h.nameLen] = name.length;
  name.copy(key, abi.key.name);
  return { key };
}

/** Decodes a key as cacheKey returns it or as an entry holds it (zero-padded). */
export function decodeCacheKey(key: Uint8Array, abi: SantaAbi = santaAbi()): DecodedKey {
  const b = Buffer.from(key.buffer, key.byteOffset, key.length);
  const h = abi.keyHeader;
  if (b.length < abi.key.name + 1 || b.length > abi.key.size) throw new RangeError(`a key is ${abi.key.name + 1}..${abi.key.size} bytes, not ${b.length}`);
  const nameLength = b[h.nameLen];
  if (nameLength === 0 || abi.key.name + nameLength > b.length) throw new RangeError(`the key's name length ${nameLength} does not fit its ${b.length} bytes`);
  return {
    name: Buffer.from(b.subarray(abi.key.name, abi.key.name + nameLength)),
    qtype: b.readUInt16BE(h.qtype),
    qclass: b.readUInt16BE(h.qclass),
    flags: b[h.flags],
  };
}

// ---- values -------------------------------------------------------------------------------

export interface CacheValueInput {
  /** A complete DNS response, as BIND sends it for a query with the key's bits. */
  reply: Buffer;
  /** Index into santa_hits owned by this entry. */
  slot: number;
  /** Lease end in jiffies (bpf_jiffies64; see KernelClock to convert from monotonic time). */
  expiresJiffies: bigint;
  /** The key flags the entry will be installed under. */
  keyFlags: number;
}

export interface DecodedValue {
  expiresJiffies: bigint;
  slot: number;
  tailLength: number;
  csumConst: number;
  /** Header bytes 2..11. */
  hdr: Buffer;
  /** The response-rate-limiting bucket replies from this entry draw on (sidecar/rrl/identity). */
  rrlKind: number;
  rrlId: number;
  /** The zone change guard: the zone's slot in santa_zone_gens and the generation verified under. */
  zoneSlot: number;
  zoneGen: number;
  tail: Buffer;
}

/** Where an entry's zone stands in the zone change guard (santa_abi.h) when its answer is checked. */
export interface ZoneStamp {
  slot: number;
  gen: number;
}

/** Writes the zone change guard's stamp into a value (compact or full): the entry hits only
 * while its zone's slot holds `gen`. */
export function writeZoneStamp(value: Buffer, stamp: ZoneStamp, abi: SantaAbi = santaAbi()): void {
  if (!Number.isInteger(stamp.slot) || stamp.slot < 0 || stamp.slot >= abi.zoneGens.slots) throw new RangeError(`zone slot ${stamp.slot} is outside 0..${abi.zoneGens.slots - 1}`);
  if (!Number.isInteger(stamp.gen) || stamp.gen < 0 || stamp.gen > 0xffffffff) throw new RangeError(`zone generation ${stamp.gen} is not a u32`);
  writeU32(value, abi.value.zoneSlot, stamp.slot);
  writeU32(value, abi.value.zoneGen, stamp.gen);
}

/**
 * The map value for `reply`, refusing any reply the program could not reproduce exactly for
 * every matching query (see reply-layout.ts for the compression-pointer rule).
 *
 * The value is returned compact: it ends with the tail instead of the map's fixed size (a
 * typical tail is a tenth of it), so a planner holding 100k entries keeps megabytes, not a
 * hundred. SantaMaps.install and fullValue() add the zero padding the map stores.
 */
export function cacheValue(input: CacheValueInput, abi: SantaAbi = santaAbi()): Buffer {
  return encodeValue(checkedLayout(input.reply, input.keyFlags, abi), input, abi);
}

export interface CacheEntryInput extends CacheValueInput {
  question: Question;
}

/** Key and value together, also checking that the reply answers this very question. */
export function cacheEntry(input: CacheEntryInput, abi: SantaAbi = santaAbi()): CacheKey & { value: Buffer } {
  const key = cacheKey(input.question, input.keyFlags, abi);
  const layout = checkedLayout(input.reply, input.keyFlags, abi);
  const h = abi.keyHeader;
  const keyedName = key.key.subarray(abi.key.name, abi.key.name + key.key[h.nameLen]);
  if (!wireNamesEqual(layout.questionName, keyedName) || layout.qtype !== key.key.readUInt16BE(h.qtype) || layout.qclass !== key.key.readUInt16BE(h.qclass)) {
    const want = decodeCacheKey(key.key, abi);
    throw new CacheEncodeError(
      describeQuestion(want.name, want.qtype, want.qclass),
      `the reply answers ${describeQuestion(layout.questionName, layout.qtype, layout.qclass)}`,
    );
  }
  return { ...key, value: encodeValue(layout, input, abi) };
}

function describeQuestion(name: Uint8Array, qtype: number, qclass: number): string {
  return `${wireToName(name)} type ${qtype} class ${qclass}`;
}

function checkedLayout(reply: Buffer, flags: number, abi: SantaAbi): ReplyLayout {
  checkKeyFlags(flags, abi);
  let layout: ReplyLayout;
  try {
    layout = analyzeReply(reply);
  } catch (e) {
    throw new CacheEncodeError('reply', (e as Error).message);
  }
  const fail = (problem: string) => new CacheEncodeError(describeQuestion(layout.questionName, layout.qtype, layout.qclass), problem);
  if (!(layout.flags & FLAG_QR)) throw fail('QR is clear: this is a query, not a response');
  if ((layout.flags >> 11) & 0xf) throw fail(`opcode ${(layout.flags >> 11) & 0xf} is not QUERY`);
  if (layout.flags & FLAG_TC) throw fail('the reply is truncated (TC=1); cache the full response');
  const bits = queryBits(flags, abi);
  if (((layout.flags & FLAG_RD) !== 0) !== bits.recursionDesired) {
    throw fail(`RD in the reply (${(layout.flags & FLAG_RD) !== 0}) differs from the key's (${bits.recursionDesired})`);
  }
  if (bits.edns) {
    if (!layout.opt) throw fail('the key has EDNS but the reply carries no OPT record');
    if (layout.records[layout.records.length - 1].offset !== layout.opt.offset) {
      throw fail('the OPT record is not the last record (the program expects it at the end)');
    }
    if (layout.opt.version !== 0) throw fail(`EDNS version ${layout.opt.version}, not 0`);
    if (layout.opt.dnssecOk !== bits.dnssecOk) throw fail(`DO in the reply (${layout.opt.dnssecOk}) differs from the key's`);
    // A cookie reply appends its COOKIE option to an OPT that must have none of its own.
    if (layout.opt.rdlength !== 0) throw fail(`the OPT record carries ${layout.opt.rdlength} bytes of options, not none`);
  } else if (layout.opt) {
    throw fail('the key has no EDNS but the reply carries an OPT record');
  }
  const tailLength = reply.length - layout.tailOffset;
  if (tailLength < 1) throw fail('nothing follows the question');
  if (tailLength > abi.limits.TAIL_MAX) throw fail(`${tailLength} bytes after the question, more than ${abi.limits.TAIL_MAX}`);
  return layout;
}

function encodeValue(layout: ReplyLayout, input: CacheValueInput, abi: SantaAbi): Buffer {
  const v = abi.value;
  const reply = input.reply;
  if (!Number.isInteger(input.slot) || input.slot < 0 || input.slot > 0xffffffff) throw new RangeError(`slot ${input.slot} is not a u32`);
  if (input.expiresJiffies < 0n || input.expiresJiffies > 0xffffffffffffffffn) throw new RangeError(`expiresJiffies ${input.expiresJiffies} is not a u64`);
  const tail = reply.subarray(layout.tailOffset);
  const out = Buffer.alloc(v.tail + tail.length);
  writeU64(out, v.expiresJiffies, input.expiresJiffies);
  writeU32(out, v.slot, input.slot);
  writeU16(out, v.tailLen, tail.length);
  out.writeUInt16BE(replyChecksumConstant(reply.subarray(4, 12), tail, layout.nameLength), v.csumConst);
  reply.copy(out, v.hdr, 2, 2 + v.hdrSize);
  out[v.hdr + 1] &= ~FLAG_CD & 0xff; // the program copies CD from the query
  const rrl = rrlIdentity(reply);
  out[v.rrlKind] = rrl.kind;
  writeU32(out, v.rrlId, rrl.id);
  tail.copy(out, v.tail);
  return out;
}

/**
 * csum_const: the one's-complement sum of the reply's UDP checksum terms that do not depend on
 * the query (see santa_abi.h): the four counts, the tail at its place in the datagram, the UDP
 * length twice (UDP header and pseudo-header) and the protocol number.
 */
export function replyChecksumConstant(counts: Uint8Array, tail: Uint8Array, nameLength: number): number {
  // The UDP header is 8 bytes, so a byte's parity in the datagram is its parity in the DNS
  // message; the tail starts at 12 + nameLength + 4.
  const udpLength = UDP_HEADER + 12 + nameLength + 4 + tail.length;
  let sum = addBytes(0, counts, 0, counts.length, false);
  sum = addBytes(sum, tail, 0, tail.length, (nameLength & 1) === 1);
  sum = addWord(sum, udpLength);
  sum = addWord(sum, udpLength);
  sum = addWord(sum, IPPROTO_UDP);
  return foldSum(sum);
}

/** A value as the map stores it: padded with zeros to the full size. */
export function fullValue(value: Uint8Array, abi: SantaAbi = santaAbi()): Buffer {
  checkValueLength(value.length, abi);
  const out = Buffer.alloc(abi.value.size);
  out.set(value);
  return out;
}

function checkValueLength(length: number, abi: SantaAbi): void {
  if (length < abi.value.tail || length > abi.value.size) {
    throw new RangeError(`a value is ${abi.value.tail}..${abi.value.size} bytes (compact or full), not ${length}`);
  }
}

/** Decodes a full value (from the map) or a compact one (from cacheValue). */
export function decodeCacheValue(value: Uint8Array, abi: SantaAbi = santaAbi()): DecodedValue {
  const v = abi.value;
  checkValueLength(value.length, abi);
  const b = Buffer.from(value.buffer, value.byteOffset, value.length);
  const tailLength = readU16(b, v.tailLen);
  if (tailLength > abi.limits.TAIL_MAX || v.tail + tailLength > b.length) {
    throw new RangeError(`value claims a ${tailLength}-byte tail but holds ${b.length - v.tail} bytes of tail`);
  }
  return {
    expiresJiffies: readU64(b, v.expiresJiffies),
    slot: readU32(b, v.slot),
    tailLength,
    csumConst: b.readUInt16BE(v.csumConst),
    hdr: Buffer.from(b.subarray(v.hdr, v.hdr + v.hdrSize)),
    rrlKind: b[v.rrlKind],
    rrlId: readU32(b, v.rrlId),
    zoneSlot: readU32(b, v.zoneSlot),
    zoneGen: readU32(b, v.zoneGen),
    tail: Buffer.from(b.subarray(v.tail, v.tail + tailLength)),
  };
}

// ---- per-CPU counters ---------------------------------------------------------------------

/** Sum over CPUs of the u64 at `offset` in each CPU's copy of a `valueSize`-byte value. */
export function sumPerCpuU64(perCpu: Uint8Array, valueSize: number, offset = 0): bigint {
  const stride = perCpuStride(valueSize);
  if (perCpu.length % stride !== 0) throw new RangeError(`${perCpu.length} bytes is not a whole number of ${stride}-byte per-CPU values`);
  const b = Buffer.from(perCpu.buffer, perCpu.byteOffset, perCpu.length);
  let total = 0n;
  for (let cpu = 0; cpu < b.length; cpu += stride) total += readU64(b, cpu + offset);
  return total;
}

/**
 * Totals over CPUs of the u64 at the start of each of `count` per-CPU values laid end to end
 * (what lookupBatch returns for a per-CPU map). Plain numbers, exact below 2^53: summing
 * hundreds of thousands of BigInts would cost more than the syscall.
 */
export function perCpuTotals(values: Uint8Array, count: number, valueSize: number, cpus: number): Float64Array {
  const stride = perCpuStride(valueSize);
  if (values.length !== count * cpus * stride) {
    throw new RangeError(`${values.length} bytes is not ${count} values of ${cpus} CPUs x ${stride} bytes`);
  }
  const b = Buffer.from(values.buffer, values.byteOffset, values.length);
  const [lo, hi] = HOST_LE ? [0, 4] : [4, 0];
  const read32 = HOST_LE ? (o: number) => b.readUInt32LE(o) : (o: number) => b.readUInt32BE(o);
  const totals = new Float64Array(count);
  for (let i = 0, off = 0; i < count; i++) {
    let sum = 0;
    for (let c = 0; c < cpus; c++, off += stride) sum += read32(off + lo) + read32(off + hi) * 0x100000000;
    totals[i] = sum;
  }
  return totals;
}

/** santa_stats (all CPUs) -> counter name -> total. Exact below 2^53. */
export function decodeStats(perCpu: Uint8Array, abi: SantaAbi = santaAbi()): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, index] of Object.entries(abi.counters)) {
    out[name] = Number(sumPerCpuU64(perCpu, abi.stats.size, index * abi.stats.counterSize));
  }
  return out;
}

/** One santa_hits slot (all CPUs) -> total replies served from it. */
export function decodeHits(perCpu: Uint8Array, abi: SantaAbi = santaAbi()): number {
  return Number(sumPerCpuU64(perCpu, abi.hits.valueSize));
}

// ---- settings -----------------------------------------------------------------------------

export type SantaMode = 'off' | 'dry-run' | 'on';

export interface SantaSettings {
  mode: SantaMode;
  /** BIND's max-udp-size; 0 lets the program use its default (1232). */
  maxUdpSize: number;
  /** UDP ports to answer on; empty means 53. */
  ports: number[];
  /** Destination addresses to answer for; empty means any. */
  v4Addrs: string[];
  v6Addrs: string[];
  /** DNS cookies answered in XDP; absent: queries carrying a COOKIE option pass to BIND. */
  cookie?: CookieSettings;
  /** BIND's blackhole list, flattened (named-conf/address-match.ts); absent or empty: none. */
  blackhole?: AddressPrefix[];
  /** BIND's nocookie-udp-size as named applies it (128..max-udp-size): replies to queries
   * without a valid server cookie must fit in it too. Absent or 0: no such limit. */
  nocookieUdpSize?: number;
}

export interface CookieSettings {
  /** BIND's cookie-secret for siphash24: the SipHash-2-4 key (16 bytes). */
  secret: Uint8Array;
  /** CLOCK_REALTIME minus CLOCK_MONOTONIC in ns: the program's wall clock for cookie timestamps. */
  clockOffsetNs: bigint;
  /** BIND's require-server-cookie: only queries with a valid server cookie may hit. */
  requireServerCookie?: boolean;
}

function modeValue(mode: SantaMode, abi: SantaAbi): number {
  switch (mode) {
    case 'off':
      return abi.modes.OFF;
    case 'dry-run':
      return abi.modes.DRY_RUN;
    case 'on':
      return abi.modes.ON;
    default:
      throw new RangeError(`mode ${JSON.stringify(mode)} is not off, dry-run or on`);
  }
}

function modeName(value: number, abi: SantaAbi): SantaMode {
  if (value === abi.modes.OFF) return 'off';
  if (value === abi.modes.DRY_RUN) return 'dry-run';
  if (value === abi.modes.ON) return 'on';
  throw new RangeError(`settings hold unknown mode ${value}`);
}

export function encodeSettings(s: SantaSettings, abi: SantaAbi = santaAbi()): Buffer {
  const o = abi.settings;
  const max = abi.limits;
  if (!Number.isInteger(s.maxUdpSize) || s.maxUdpSize < 0 || s.maxUdpSize > 0xffff || (s.maxUdpSize > 0 && s.maxUdpSize < 512)) {
    throw new RangeError(`maxUdpSize ${s.maxUdpSize}: 0 (default) or 512..65535`);
  }
  if (s.ports.length > max.MAX_PORTS) throw new RangeError(`${s.ports.length} ports, at most ${max.MAX_PORTS}`);
  if (s.v4Addrs.length > max.MAX_ADDRS) throw new RangeError(`${s.v4Addrs.length} IPv4 addresses, at most ${max.MAX_ADDRS}`);
  if (s.v6Addrs.length > max.MAX_ADDRS) throw new RangeError(`${s.v6Addrs.length} IPv6 addresses, at most ${max.MAX_ADDRS}`);
  const out = Buffer.alloc(o.size);
  writeU32(out, o.mode, modeValue(s.mode, abi));
  writeU16(out, o.maxUdpSize, s.maxUdpSize);
  out[o.nPorts] = s.ports.length;
  s.ports.forEach((p, i) => {
    if (!Number.isInteger(p) || p < 1 || p > 0xffff) throw new RangeError(`port ${p} is not 1..65535`);
    out.writeUInt16BE(p, o.ports + 2 * i);
  });
  out[o.nV4] = s.v4Addrs.length;
  s.v4Addrs.forEach((a, i) => ipv4Bytes(a).copy(out, o.v4Addrs + 4 * i));
  out[o.nV6] = s.v6Addrs.length;
  s.v6Addrs.forEach((a, i) => ipv6Bytes(a).copy(out, o.v6Addrs + 16 * i));
  if (s.cookie) {
    if (s.cookie.secret.length !== o.cookieSecretSize) {
      throw new RangeError(`cookie secret is ${s.cookie.secret.length} bytes, not ${o.cookieSecretSize}`);
    }
    // Zero would read as "no clock" and the range keeps now + offset inside 64 bits.
    if (s.cookie.clockOffsetNs <= 0n || s.cookie.clockOffsetNs >= 1n << 63n) {
      throw new RangeError(`cookie clock offset ${s.cookie.clockOffsetNs} ns is not a positive 63-bit number`);
    }
    out[o.cookieOn] = 1;
    out[o.cookieRequireServer] = s.cookie.requireServerCookie ? 1 : 0;
    Buffer.from(s.cookie.secret).copy(out, o.cookieSecret);
    writeU64(out, o.clockOffsetNs, s.cookie.clockOffsetNs);
  }
  const nocookie = s.nocookieUdpSize ?? 0;
  if (!Number.isInteger(nocookie) || nocookie < 0 || nocookie > 0xffff) throw new RangeError(`nocookieUdpSize ${nocookie}: 0 (none) or 1..65535`);
  writeU16(out, o.nocookieUdpSize, nocookie);
  const blackhole = s.blackhole ?? [];
  for (const family of [4, 6] as const) {
    const list = blackhole.filter((p) => p.family === family);
    if (list.length > o.maxBlackhole) throw new RangeError(`blackhole has ${list.length} IPv${family} elements; Santa supports at most ${o.maxBlackhole}`);
    out[family === 4 ? o.nBlackholeV4 : o.nBlackholeV6] = list.length;
    writePrefixes(out, family === 4 ? o.blackholeV4 : o.blackholeV6, list, abi);
  }
  return out;
}

/** An address match list's prefixes of one family as struct santa_prefix[], from byte `at`. */
export function writePrefixes(out: Buffer, at: number, list: readonly AddressPrefix[], abi: SantaAbi = santaAbi()): void {
  const o = abi.prefix;
  list.forEach((p, i) => {
    const base = at + i * o.size;
    p.address.copy(out, base + o.addr);
    prefixMask(p.address.length, p.length).copy(out, base + o.mask);
    out[base + o.negated] = p.negated ? 1 : 0;
  });
}

function readPrefixes(b: Buffer, at: number, n: number, family: 4 | 6, abi: SantaAbi): AddressPrefix[] {
  const o = abi.prefix;
  const bytes = family === 4 ? 4 : 16;
  return Array.from({ length: n }, (_, i) => {
    const base = at + i * o.size;
    const mask = b.subarray(base + o.mask, base + o.mask + bytes);
    const length = [...mask].reduce((bits, m) => bits + m.toString(2).replace(/0/g, '').length, 0);
    return { family, address: Buffer.from(b.subarray(base + o.addr, base + o.addr + bytes)), length, negated: b[base + o.negated] === 1 };
  });
}

export function decodeSettings(buf: Uint8Array, abi: SantaAbi = santaAbi()): SantaSettings {
  const o = abi.settings;
  if (buf.length !== o.size) throw new RangeError(`settings are ${o.size} bytes, not ${buf.length}`);
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.length);
  const count = (off: number, limit: number, what: string) => {
    if (b[off] > limit) throw new RangeError(`settings claim ${b[off]} ${what}, at most ${limit}`);
    return b[off];
  };
  const nPorts = count(o.nPorts, abi.limits.MAX_PORTS, 'ports');
  const nV4 = count(o.nV4, abi.limits.MAX_ADDRS, 'IPv4 addresses');
  const nV6 = count(o.nV6, abi.limits.MAX_ADDRS, 'IPv6 addresses');
  const nBlackholeV4 = count(o.nBlackholeV4, o.maxBlackhole, 'IPv4 blackhole prefixes');
  const nBlackholeV6 = count(o.nBlackholeV6, o.maxBlackhole, 'IPv6 blackhole prefixes');
  const blackhole = [...readPrefixes(b, o.blackholeV4, nBlackholeV4, 4, abi), ...readPrefixes(b, o.blackholeV6, nBlackholeV6, 6, abi)];
  const cookie: Partial<SantaSettings> =
    b[o.cookieOn] === 1
      ? {
          cookie: {
            secret: Buffer.from(b.subarray(o.cookieSecret, o.cookieSecret + o.cookieSecretSize)),
            clockOffsetNs: readU64(b, o.clockOffsetNs),
            ...(b[o.cookieRequireServer] ? { requireServerCookie: true } : {}),
          },
        }
      : {};
  return {
    mode: modeName(readU32(b, o.mode), abi),
    maxUdpSize: readU16(b, o.maxUdpSize),
    ports: Array.from({ length: nPorts }, (_, i) => b.readUInt16BE(o.ports + 2 * i)),
    v4Addrs: Array.from({ length: nV4 }, (_, i) => [...b.subarray(o.v4Addrs + 4 * i, o.v4Addrs + 4 * i + 4)].join('.')),
    v6Addrs: Array.from({ length: nV6 }, (_, i) => formatIpv6(b.subarray(o.v6Addrs + 16 * i, o.v6Addrs + 16 * i + 16))),
    ...cookie,
    ...(blackhole.length ? { blackhole } : {}),
    ...(readU16(b, o.nocookieUdpSize) ? { nocookieUdpSize: readU16(b, o.nocookieUdpSize) } : {}),
  };
}

// ---- host-order integers ------------------------------------------------------------------

function writeU16(b: Buffer, off: number, v: number): void {
  if (HOST_LE) b.writeUInt16LE(v, off);
  else b.writeUInt16BE(v, off);
}

function writeU32(b: Buffer, off: number, v: number): void {
  if (HOST_LE) b.writeUInt32LE(v, off);
  else b.writeUInt32BE(v, off);
}

function writeU64(b: Buffer, off: number, v: bigint): void {
  if (HOST_LE) b.writeBigUInt64LE(v, off);
  else b.writeBigUInt64BE(v, off);
}

function readU16(b: Buffer, off: number): number {
  return HOST_LE ? b.readUInt16LE(off) : b.readUInt16BE(off);
}

function readU32(b: Buffer, off: number): number {
  return HOST_LE ? b.readUInt32LE(off) : b.readUInt32BE(off);
}

function readU64(b: Buffer, off: number): bigint {
  return HOST_LE ? b.readBigUInt64LE(off) : b.readBigUInt64BE(off);
}

/** For the map layer: reads a slot index etc. in host order. */
export const hostOrder = { writeU16, writeU32, writeU64, readU16, readU32, readU64 };
