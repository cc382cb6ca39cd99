/**
 * The fixed set of answers the XDP fuzzer installs: names at every key-tier edge, names whose
 * bytes sit next to A-Z (where a wrong case fold would alias), tails from a few bytes to the
 * largest the map holds, NXDOMAIN, expired leases, and names installed for only some key bits.
 * Built from a constant seed so a saved regression case meets the same entries on replay.
 *
 * Responses are written as raw wire bytes (owner names point at offset 12, like BIND's) so
 * names can hold any byte; the sidecar's codec turns each into its map entry.
 */
import { cacheEntry, CacheKey, keyFlags } from '../../../sidecar/bpf/codec';
import { indexEntries, KeyBits, lowerAscii, ModelEntry } from '../model';
import { Rng } from '../random';

const UNIVERSE_SEED = 0x5a17a;
const FLAG_QR_AA = 0x8400;
const FLAG_RD = 0x0100;
const RCODE_NXDOMAIN = 3;
const TYPE_A = 1;
const TYPE_SOA = 6;
const TYPE_TXT = 16;
const TYPE_AAAA = 28;
const TYPE_OPT = 41;
const BIND_UDP_SIZE = 1232;
/** The kernel's monotonic clock is never this far along: a lease that cannot run out here. */
const FOREVER_JIFFIES = 1n << 62n;
const LONG_AGO_JIFFIES = 1n;

export interface UniverseName {
  /** Wire name with the case it was installed with. */
  wire: Buffer;
  qtype: number;
  /** Bits combinations installed; the rest are misses with the right name. */
  bits: KeyBits[];
  tailBytes: number;
  nxdomain: boolean;
  expired: boolean;
}

export interface Universe {
  names: UniverseName[];
  entries: ModelEntry[];
  index: ReadonlyMap<string, ModelEntry>;
  mapEntries: Array<CacheKey & { value: Buffer }>;
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n & 0xffff);
  return b;
}

function record(type: number, ttl: number, rdata: Buffer): Buffer {
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(0xc00c, 0); // owner: the question name
  fixed.writeUInt16BE(type, 2);
  fixed.writeUInt16BE(1, 4);
  fixed.writeUInt32BE(ttl, 6);
  return Buffer.concat([fixed, u16(rdata.length), rdata]);
}

/** TXT rdata of `size` bytes: character-strings of up to 255 bytes. */
function txtRdata(size: number, rng: Rng): Buffer {
  const parts: Buffer[] = [];
  let left = size;
  while (left > 0) {
    const len = Math.min(255, left - 1);
    parts.push(Buffer.concat([Buffer.from([len]), Buffer.from(Array.from({ length: len }, () => 0x61 + rng.int(26)))]));
    left -= len + 1;
  }
  return Buffer.concat(parts);
}

function optRecord(dnssecOk: boolean): Buffer {
  return Buffer.concat([Buffer.from([0]), u16(TYPE_OPT), u16(BIND_UDP_SIZE), Buffer.from([0, 0, dnssecOk ? 0x80 : 0, 0]), u16(0)]);
}

/** The response BIND would give (shape only: the fuzzer needs exactness, not realism). */
function response(n: UniverseName, bits: KeyBits, rng: Rng): Buffer {
  const answers: Buffer[] = [];
  const authority: Buffer[] = [];
  if (n.nxdomain) {
    const soa = Buffer.concat([Buffer.from([0xc0, 0x0c, 0xc0, 0x0c]), Buffer.alloc(20, 1)]);
    authority.push(record(TYPE_SOA, 300, soa));
  } else if (n.qtype === TYPE_TXT) {
    // tailBytes is the record's size; its fixed part is 12 bytes.
    answers.push(record(TYPE_TXT, 300, txtRdata(Math.max(1, n.tailBytes - 12), rng)));
  } else {
    const size = n.qtype === TYPE_AAAA ? 16 : 4;
    const count = Math.max(1, Math.round(n.tailBytes / (12 + size)));
    for (let i = 0; i < count; i++) answers.push(record(n.qtype, 300, rng.bytes(size)));
  }
  // BIND's minimal-responses no-auth-recursive: RD=1 answers leave the authority out.
  const ns = bits.rd && !n.nxdomain ? [] : authority;
  const additional = bits.edns ? [optRecord(bits.dnssecOk)] : [];
  const header = Buffer.concat([
    u16(0),
    u16(FLAG_QR_AA | (bits.rd ? FLAG_RD : 0) | (n.nxdomain ? RCODE_NXDOMAIN : 0) | (rng.chance(0.5) ? 0x0010 : 0)),
    u16(1),
    u16(answers.length),
    u16(ns.length),
    u16(additional.length),
  ]);
  return Buffer.concat([header, n.wire, u16(n.qtype), u16(1), ...answers, ...ns, ...additional]);
}

function wire(labels: Array<string | Buffer>): Buffer {
  const parts = labels.map((l) => (typeof l === 'string' ? Buffer.from(l, 'latin1') : l));
  return Buffer.concat([...parts.map((p) => Buffer.concat([Buffer.from([p.length]), p])), Buffer.from([0])]);
}

/** A name of exactly `length` wire bytes, labels of mixed case letters and digits. */
function nameOfLength(length: number, rng: Rng): Buffer {
  const labels: Buffer[] = [];
  let left = length - 1;
  while (left > 0) {
    let take = Math.min(63, left - 1);
    if (left - (take + 1) === 1) take -= 1;
    labels.push(Buffer.from(Array.from({ length: take }, () => rng.pick([...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-'].map((c) => c.charCodeAt(0))))));
    left -= take + 1;
  }
  return wire(labels);
}

export const ALL_BITS: KeyBits[] = (() => {
  const out: KeyBits[] = [];
  for (const v6 of [false, true])
    for (const rd of [false, true])
      for (const [edns, dnssecOk] of [[false, false], [true, false], [true, true]])
        out.push({ rd, edns, dnssecOk, v6 });
  return out;
})();

function names(rng: Rng): UniverseName[] {
  const plain = (w: Buffer, qtype: number, tailBytes: number, extra: Partial<UniverseName> = {}): UniverseName => ({
    wire: w,
    qtype,
    bits: ALL_BITS,
    tailBytes,
    nxdomain: false,
    expired: false,
    ...extra,
  });
  const list: UniverseName[] = [
    plain(wire(['www', 'Example', 'test']), TYPE_A, 16),
    plain(wire(['example', 'test']), TYPE_AAAA, 56),
    plain(wire([]), TYPE_A, 16), // the root
    plain(wire(['a']), TYPE_TXT, 40),
    // Bytes either side of A-Z and a-z: '@' '[' '`' '{', and bytes with the high bit set.
    plain(wire(['@[`{', 'z']), TYPE_A, 16),
    plain(wire([Buffer.from([0xc1, 0xda, 0xe1, 0xfa, 0x80, 0xff]), 'x']), TYPE_A, 16),
    plain(wire(['nx', 'example', 'test']), TYPE_A, 0, { nxdomain: true }),
    plain(wire(['old', 'example', 'test']), TYPE_A, 16, { expired: true }),
    plain(wire(['half', 'example', 'test']), TYPE_A, 16, { bits: ALL_BITS.filter((b) => b.rd === b.v6) }),
    plain(wire(['mid', 'example', 'test']), TYPE_TXT, 480),
    plain(wire(['edge512', 'example', 'test']), TYPE_TXT, 512 - 12 - 22 - 4 - 11),
    plain(wire(['big', 'example', 'test']), TYPE_TXT, 1100),
    plain(wire(['max', 'test']), TYPE_TXT, 1216 - 11),
  ];
  for (const len of [31, 32, 33, 63, 64, 65, 127, 128, 129, 200, 254, 255]) {
    list.push(plain(nameOfLength(len, rng), rng.pick([TYPE_A, TYPE_AAAA, TYPE_TXT]), rng.pick([16, 100, 700])));
  }
  return list;
}

export function buildUniverse(): Universe {
  const rng = new Rng(UNIVERSE_SEED);
  const list = names(rng);
  const entries: ModelEntry[] = [];
  const mapEntries: Array<CacheKey & { value: Buffer }> = [];
  let slot = 1;
  for (const n of list) {
    for (const bits of n.bits) {
      const reply = response(n, bits, rng);
      const expiresJiffies = n.expired ? LONG_AGO_JIFFIES : FOREVER_JIFFIES;
      const entry: ModelEntry = { name: lowerAscii(n.wire), qtype: n.qtype, qclass: 1, bits, response: reply, expiresJiffies, slot };
      entries.push(entry);
      mapEntries.push(
        cacheEntry({
          question: { name: n.wire, type: n.qtype },
          reply,
          slot,
          expiresJiffies,
          keyFlags: keyFlags({ recursionDesired: bits.rd, edns: bits.edns, dnssecOk: bits.dnssecOk, ipv6: bits.v6 }),
        }),
      );
      slot++;
    }
  }
  return { names: list, entries, index: indexEntries(entries), mapEntries };
}
