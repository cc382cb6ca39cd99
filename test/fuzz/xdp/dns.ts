/**
 * DNS queries as wire bytes, built field by field so any field can hold any value, and the
 * structural mutations the fuzzer applies to them (counts, label loops, pointers, label types,
 * over-long names, truncation, trailing bytes, odd OPT records).
 */
import { Rng } from '../random';

export interface OptSpec {
  udpSize: number;
  extRcode: number;
  version: number;
  /** The 16 flag bits (DO is the top one). */
  flags: number;
  rdata: Buffer;
  /** Owner name bytes; the root (0x00) in any valid OPT. */
  owner: Buffer;
  type: number;
}

export interface QuerySpec {
  id: number;
  flags: number;
  counts: [number, number, number, number];
  name: Buffer;
  qtype: number;
  qclass: number;
  opt?: OptSpec;
  trailing: Buffer;
}

export function plainOpt(udpSize: number, dnssecOk: boolean): OptSpec {
  return { udpSize, extRcode: 0, version: 0, flags: dnssecOk ? 0x8000 : 0, rdata: Buffer.alloc(0), owner: Buffer.from([0]), type: 41 };
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n & 0xffff);
  return b;
}

export function encodeQuery(q: QuerySpec): Buffer {
  const parts = [u16(q.id), u16(q.flags), ...q.counts.map(u16), q.name, u16(q.qtype), u16(q.qclass)];
  if (q.opt) {
    const o = q.opt;
    parts.push(o.owner, u16(o.type), u16(o.udpSize), Buffer.from([o.extRcode, o.version]), u16(o.flags), u16(o.rdata.length), o.rdata);
  }
  parts.push(q.trailing);
  return Buffer.concat(parts);
}

/** Flips the case of ASCII letters at random, as resolvers do (0x20); label lengths stay. */
export function randomCase(name: Buffer, rng: Rng): Buffer {
  const out = Buffer.from(name);
  let at = 0;
  while (at < out.length && out[at] !== 0) {
    const len = out[at];
    for (let i = at + 1; i <= at + len && i < out.length; i++) {
      const c = out[i] | 0x20;
      if (c >= 0x61 && c <= 0x7a && rng.chance(0.5)) out[i] ^= 0x20;
    }
    at += len + 1;
  }
  return out;
}

export const UDP_SIZES = [0, 1, 511, 512, 513, 600, 699, 700, 1024, 1231, 1232, 1233, 1400, 4095, 4096, 65535];

const EDNS_OPTIONS = [
  Buffer.from('000a0008' + '0123456789abcdef', 'hex'), // COOKIE, client part only
  Buffer.from('000c0000', 'hex'), // empty PADDING
  Buffer.from('00080004' + '00011800', 'hex'), // ECS
  Buffer.from('0003', 'hex'), // a truncated option header
];

/** Applies one structural mutation; returns its name. */
export function mutateQuery(q: QuerySpec, rng: Rng): string {
  const which = rng.int(13);
  switch (which) {
    case 0:
      q.flags = rng.chance(0.5) ? rng.int(0x10000) : q.flags | rng.pick([0x8000, 0x0800, 0x2800, 0x7800, 0x0200, 0x0400, 0x0040, 0x0020, 0x0080, 0x000f]);
      return 'flags';
    case 1:
      q.counts[rng.int(4)] = rng.pick([0, 1, 2, 3, 0xffff, 0x8001, rng.int(0x10000)]);
      return 'counts';
    case 2: {
      // Label loops and compression pointers in the question name.
      const kind = rng.int(4);
      if (kind === 0) q.name = Buffer.from([0xc0, 0x0c]); // points at itself
      else if (kind === 1) q.name = Buffer.concat([q.name.subarray(0, Math.max(0, q.name.length - 1)), Buffer.from([0xc0, 0x0c])]);
      else if (kind === 2) q.name = Buffer.from([1, 0x61, 0xc0 | rng.int(64), rng.int(256)]);
      else q.name = Buffer.concat([Buffer.from([3, 0x77, 0x77, 0x77]), Buffer.from([0xc0, 12 + 4 + rng.int(30)])]);
      return 'pointer';
    }
    case 3: {
      const labelStarts = labelOffsets(q.name);
      if (labelStarts.length === 0) q.name = Buffer.from([rng.range(0x40, 0xbf), 0]);
      else q.name[rng.pick(labelStarts)] = rng.range(0x40, 0xbf);
      return 'label-type';
    }
    case 4: {
      const labelStarts = labelOffsets(q.name);
      if (labelStarts.length > 0) q.name[rng.pick(labelStarts)] = rng.range(1, 63);
      return 'label-length';
    }
    case 5: {
      // Names around the 255-byte limit, with or without their root label.
      const total = rng.range(250, 300);
      const labels: Buffer[] = [];
      let len = 0;
      while (len < total) {
        const l = Math.min(rng.range(1, 63), Math.max(1, total - len - 1));
        labels.push(Buffer.concat([Buffer.from([l]), Buffer.alloc(l, 0x6b)]));
        len += l + 1;
      }
      q.name = Buffer.concat([...labels, ...(rng.chance(0.8) ? [Buffer.from([0])] : [])]);
      return 'long-name';
    }
    case 6:
      q.trailing = rng.bytes(rng.range(1, 24));
      return 'trailing';
    case 7:
      q.opt ??= plainOpt(1232, false);
      q.counts[3] = 1;
      mutateOpt(q.opt, rng);
      return 'opt';
    case 8:
      // A second record after the question.
      q.opt ??= plainOpt(4096, false);
      q.counts[3] = 2;
      q.trailing = Buffer.concat([Buffer.from([0]), u16(41), u16(512), Buffer.alloc(4), u16(0)]);
      return 'second-opt';
    case 9:
      q.name = Buffer.from([0]);
      return 'root-name';
    case 10:
      q.name = rng.bytes(rng.range(1, 40));
      return 'random-name';
    case 11:
      q.qtype = rng.pick([0, 41, 252, 255, 65535, rng.int(0x10000)]);
      q.qclass = rng.pick([0, 3, 254, 255, rng.int(0x10000)]);
      return 'qtype-qclass';
    default:
      q.name = Buffer.concat([q.name.subarray(0, rng.int(q.name.length + 1))]);
      return 'name-cut';
  }
}

function mutateOpt(o: OptSpec, rng: Rng): void {
  switch (rng.int(8)) {
    case 0:
      o.version = rng.range(1, 255);
      break;
    case 1:
      o.extRcode = rng.range(1, 255);
      break;
    case 2:
      o.flags = rng.int(0x10000);
      break;
    case 3:
      o.owner = rng.pick([Buffer.from([1, 0x61, 0]), Buffer.from([0xc0, 0x0c]), Buffer.from([0, 0])]);
      break;
    case 4:
      o.type = rng.pick([0x2900, 40, 42, 1, 0x0129]);
      break;
    case 5:
      o.rdata = Buffer.concat(Array.from({ length: rng.range(1, 2) }, () => rng.pick(EDNS_OPTIONS)));
      break;
    case 6:
      o.udpSize = rng.pick(UDP_SIZES);
      break;
    default:
      o.rdata = Buffer.alloc(0);
      o.flags = 0x8000;
  }
}

/** Offsets of the length bytes of a name's labels (not the root). */
function labelOffsets(name: Buffer): number[] {
  const out: number[] = [];
  let at = 0;
  while (at < name.length && name[at] !== 0 && (name[at] & 0xc0) === 0) {
    out.push(at);
    at += name[at] + 1;
  }
  return out;
}
