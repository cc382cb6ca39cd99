/**
 * DNS message rendering with BIND 9.18's name compression, so built responses can be byte for
 * byte what named sends. BIND compresses case-sensitively for responses (its `no-case-compress`
 * default), reuses the first place a suffix was written, never points past offset 0x3fff, and
 * compresses names inside RDATA only for the RFC 1035 types (RFC 3597 section 4).
 */
import { ByteWriter } from '../zone/bytes';
import { nameToWire } from '../zone/name';
import * as types from '../zone/types';

// Module-local copies: under esbuild's CommonJS output (tsx) imported bindings are getters.
const { COMPRESSIBLE_RDATA, T } = types;

export interface WireRR {
  name: string;
  type: number;
  class: number;
  ttl: number;
  /** Uncompressed RDATA. */
  rdata: Buffer;
}

/** Where names sit inside RDATA: fixed byte counts, names, or NAPTR's three strings. */
export type LayoutStep = number | 'name' | 'strings3';
export const NAME_LAYOUT = new Map<number, LayoutStep[]>([
  [T.NS, ['name']], [T.CNAME, ['name']], [T.PTR, ['name']], [T.DNAME, ['name']],
  [T.MB, ['name']], [T.MG, ['name']], [T.MR, ['name']], [T.MD, ['name']], [T.MF, ['name']],
  [T.MX, [2, 'name']], [T.AFSDB, [2, 'name']], [T.KX, [2, 'name']], [T.RT, [2, 'name']], [T.LP, [2, 'name']],
  [T.SOA, ['name', 'name']], [T.MINFO, ['name', 'name']], [T.RP, ['name', 'name']], [T.TALINK, ['name', 'name']],
  [T.PX, [2, 'name', 'name']],
  [T.SRV, [6, 'name']],
  [T.NAPTR, [4, 'strings3', 'name']],
  [T.RRSIG, [18, 'name']], [T.SIG, [18, 'name']],
  [T.NSEC, ['name']], [T.NXT, ['name']],
  [T.SVCB, [2, 'name']], [T.HTTPS, [2, 'name']],
]);

/**
 * Wire forms of recently rendered names (RRset owners, questions): the same few names go into
 * message after message. The buffers are shared: callers must not modify them.
 */
const wireCache = new Map<string, Buffer>();
const WIRE_CACHE_LIMIT = 8192;

/** Uncompressed wire form of an absolute canonical name (shared, read-only). */
export function nameWire(name: string): Buffer {
  let wire = wireCache.get(name);
  if (wire === undefined) {
    wire = nameToWire(name);
    if (wireCache.size >= WIRE_CACHE_LIMIT) wireCache.clear();
    wireCache.set(name, wire);
  }
  return wire;
}

const SLAB_SIZE = 64 * 1024;
let slab = Buffer.allocUnsafeSlow(SLAB_SIZE);
let slabUsed = 0;

/** NAME_LAYOUT and compressibility by type code for the codes below 256 (all of them but a few). */
const LAYOUT_BY_TYPE: (LayoutStep[] | undefined)[] = [];
const COMPRESS_BY_TYPE = new Uint8Array(256);
for (let type = 0; type < 256; type++) {
  LAYOUT_BY_TYPE.push(NAME_LAYOUT.get(type));
  COMPRESS_BY_TYPE[type] = COMPRESSIBLE_RDATA.has(type) ? 1 : 0;
}

export class MessageWriter {
  /** The message; the 12-byte header is filled in by header(). */
  private readonly out = new ByteWriter(512);
  /**
   * The compression table: suffixes written literally, as (source buffer, start, length) and
   * the message offset they were written at. A message holds a few dozen at most, so a scan
   * beats hashing.
   */
  private tableSrc: Uint8Array[] = [];
  private tableStart: Int32Array = new Int32Array(64);
  private tableLength: Int32Array = new Int32Array(64);
  private tableOffset: Int32Array = new Int32Array(64);
  private tableCount = 0;

  private find(src: Uint8Array, start: number, length: number): number {
    // Newest first: BIND puts new entries at the head of its lists.
    for (let i = this.tableCount - 1; i >= 0; i--) {
      if (this.tableLength[i] !== length) continue;
      const other = this.tableSrc[i];
      const from = this.tableStart[i];
      let j = 0;
      while (j < length && other[from + j] === src[start + j]) j++;
      if (j === length) return this.tableOffset[i];
    }
    return -1;
  }

  private remember(src: Uint8Array, start: number, length: number, offset: number): void {
    const i = this.tableCount++;
    if (i === this.tableStart.length) {
      const grow = (a: Int32Array): Int32Array => {
        const bigger = new Int32Array(a.length * 2);
        bigger.set(a);
        return bigger;
      };
      this.tableStart = grow(this.tableStart);
      this.tableLength = grow(this.tableLength);
      this.tableOffset = grow(this.tableOffset);
    }
    this.tableSrc[i] = src;
    this.tableStart[i] = start;
    this.tableLength[i] = length;
    this.tableOffset[i] = offset;
  }
  private lastName = '';
  private lastWire: Buffer = Buffer.alloc(0);
  /** Where the last name written can be pointed at: its literal start, or where its pointer led. */
  private lastNameOffset = -1;

  constructor() {
    this.out.length = 12;
  }

  /** Starts a new message (the writer can be reused). */
  reset(): void {
    this.out.length = 12;
    this.tableCount = 0;
    this.lastName = '';
  }

  header(id: number, flags: number, counts: [number, number, number, number]): void {
    const out = this.out;
    out.setU16(0, id);
    out.setU16(2, flags);
    for (let i = 0; i < 4; i++) out.setU16(4 + 2 * i, counts[i]);
  }

  /**
   * Writes a name the way BIND 9.18's compressor does: it only looks for the whole name and the
   * name minus its first label, and it only remembers the first two suffixes of what it wrote
   * literally. So "ns2.other.test." is written in full even when "test." is already in the
   * message, exactly as named does.
   */
  name(name: string, compress: boolean): void {
    let wire = this.lastWire;
    if (name !== this.lastName) {
      wire = nameWire(name);
      this.lastName = name;
      this.lastWire = wire;
    }
    this.nameWire(wire, 0, compress);
  }

  /**
   * Writes the uncompressed name found at `start` in `src`; returns where it ends in `src`.
   * Suffixes are compared byte for byte (case-sensitively, as BIND does for responses).
   */
  nameWire(src: Uint8Array, start: number, compress: boolean): number {
    let end = start;
    let labelCount = 0;
    while (src[end] !== 0) {
      end += src[end] + 1;
      labelCount++;
    }
    end++;
    const out = this.out;
    if (labelCount === 0) {
      out.u8(0);
      this.lastNameOffset = -1; // the root is never pointed at
      return end;
    }
    const second = start + src[start] + 1;
    let matched = -1;
    let pointer = 0;
    if (compress) {
      let at = this.find(src, start, end - start);
      if (at >= 0) {
        matched = 0;
        pointer = at;
      } else if (labelCount > 1) {
        at = this.find(src, second, end - second);
        if (at >= 0) {
          matched = 1;
          pointer = at;
        }
      }
    }
    const written = out.length;
    this.lastNameOffset = matched === 0 ? pointer : written;
    const literalEnd = matched === 0 ? start : matched === 1 ? second : end - 1;
    out.bytes(src, start, literalEnd);
    if (matched >= 0) out.u16(0xc000 | pointer);
    else out.u8(0);
    // Remember at most two suffixes of the literal part; a later copy replaces an earlier one
    // (BIND puts new entries at the head of its lists).
    const literalLabels = matched < 0 ? labelCount : matched;
    if (literalLabels >= 1 && written < 0x4000) this.remember(src, start, end - start, written);
    if (literalLabels >= 2 && written + (second - start) < 0x4000) this.remember(src, second, end - second, written + (second - start));
    return end;
  }

  u16(v: number): void {
    this.out.u16(v);
  }

  u32(v: number): void {
    this.out.u32(v);
  }

  raw(b: Uint8Array, start = 0, end = b.length): void {
    this.out.bytes(b, start, end);
  }

  /** The question; `wire`, when the caller has the name's wire form, saves converting it again. */
  question(name: string, type: number, cls: number, wire?: Uint8Array): void {
    if (wire) this.nameWire(wire, 0, true);
    else this.name(name, true);
    this.u16(type);
    this.u16(cls);
  }

  rr(rr: WireRR): void {
    this.record(rr.name, rr.type, rr.class, rr.ttl, rr.rdata);
  }

  /**
   * The RRs of one RRset. As named 9.18 renders an rdataset, the owner of every record after the
   * first points where the first one's could be found, whatever the compression table learnt in
   * between (an RRSIG's signer name, written in full, is the apex's name too).
   */
  rrset(name: string, type: number, cls: number, ttl: number, rdata: readonly Buffer[], ownerWire?: Uint8Array): void {
    let ownerAt = -1;
    for (let i = 0; i < rdata.length; i++) {
      this.record(name, type, cls, ttl, rdata[i], ownerWire, ownerAt);
      if (i === 0) ownerAt = this.ownerAt;
    }
  }

  /** Where the owner of the last record written can be pointed at (-1: nowhere). */
  get lastOwnerAt(): number {
    return this.ownerAt;
  }

  private ownerAt = -1;

  /**
   * One RR; `ownerWire`, when the caller has it, saves converting the owner name; `ownerAt`, when
   * not negative, is where an owner written before can be found (a pointer is written to it).
   */
  record(name: string, type: number, cls: number, ttl: number, rdata: Buffer, ownerWire?: Uint8Array, ownerAt = -1): void {
    if (ownerAt >= 0 && ownerAt < 0x4000) {
      this.u16(0xc000 | ownerAt);
    } else {
      if (ownerWire) this.nameWire(ownerWire, 0, true);
      else this.name(name, true);
      this.ownerAt = this.lastNameOffset;
    }
    const out = this.out;
    out.ensure(10);
    const b = out.buf;
    const at = out.length;
    b[at] = type >>> 8;
    b[at + 1] = type;
    b[at + 2] = cls >>> 8;
    b[at + 3] = cls;
    b[at + 4] = ttl >>> 24;
    b[at + 5] = ttl >>> 16;
    b[at + 6] = ttl >>> 8;
    b[at + 7] = ttl;
    out.length = at + 10;
    this.rdata(type, rdata);
    out.setU16(at + 8, out.length - at - 10);
  }

  /** An OPT pseudo-RR with no options. */
  opt(udpSize: number, doBit: boolean): void {
    this.name('.', false);
    this.u16(T.OPT);
    this.u16(udpSize);
    this.u32(doBit ? 0x8000 : 0);
    this.u16(0);
  }

  /**
   * RDATA with its embedded names: compressed for the RFC 1035 types, written in full for the
   * others, but entered in the compression table in both cases (later names may point at them).
   */
  private rdata(type: number, rdata: Buffer): void {
    const layout = type < 256 ? LAYOUT_BY_TYPE[type] : NAME_LAYOUT.get(type);
    if (!layout) {
      this.raw(rdata);
      return;
    }
    const compress = type < 256 ? COMPRESS_BY_TYPE[type] === 1 : COMPRESSIBLE_RDATA.has(type);
    let at = 0;
    for (const step of layout) {
      if (step === 'name') {
        at = this.nameWire(rdata, at, compress);
      } else if (step === 'strings3') {
        const from = at;
        for (let i = 0; i < 3; i++) at += rdata[at] + 1;
        this.raw(rdata, from, at);
      } else {
        this.raw(rdata, at, at + step);
        at += step;
      }
    }
    this.raw(rdata, at);
  }

  get size(): number {
    return this.out.length;
  }

  /** A point to roll back to: what has been written and what the compression table holds. */
  checkpoint(): { length: number; names: number } {
    return { length: this.out.length, names: this.tableCount };
  }

  /** Forgets everything written after `at` (as named rolls back an RRset that does not fit). */
  rollback(at: { length: number; names: number }): void {
    this.out.length = at.length;
    this.tableCount = at.names;
  }

  /** The message so far (a view: valid until the writer is reset or written to). */
  done(): Buffer {
    return this.out.view();
  }

  /** The message so far as a buffer of its own (carved from a shared slab, as Buffer's pool does). */
  copy(): Buffer {
    const n = this.out.length;
    if (slabUsed + n > slab.length) {
      slab = Buffer.allocUnsafeSlow(Math.max(SLAB_SIZE, n));
      slabUsed = 0;
    }
    const src = this.out.buf;
    const dst = slab;
    const base = slabUsed;
    // A loop: Buffer#copy's argument handling costs more than copying a message's few hundred bytes.
    for (let i = 0; i < n; i++) dst[base + i] = src[i];
    slabUsed = (base + n + 7) & ~7;
    return dst.subarray(base, base + n);
  }
}
