/**
 * Interned owner names of one zone, in uncompressed wire form: a dense id per distinct name
 * (compared case-insensitively, RFC 4343), the bytes of all names in one buffer, and an
 * open-addressing hash table over them. A zone can hold millions of names; a JavaScript Map
 * keyed by name strings made one string per name and most of the parse time went to hashing,
 * rehashing and collecting them. Lookups take any wire name (a suffix of a query name is a
 * parent, so walking up a name needs no new objects).
 */
import { ByteWriter } from './bytes';
import { nameFromWire } from './name';

/** ASCII lower case of each byte value: the only case folding DNS does. */
export const LOWER = new Uint8Array(256);
for (let i = 0; i < 256; i++) LOWER[i] = i >= 0x41 && i <= 0x5a ? i | 0x20 : i;

/**
 * Hash of a wire name, case-insensitive: FNV-1a over case-folded bytes, then a final mix
 * (MurmurHash3's) because FNV's low bits, which pick the slot, depend little on early bytes.
 */
function hashWire(src: Uint8Array, start: number, length: number): number {
  let h = 0x811c9dc5;
  // Setting bit 5 folds ASCII case (and merges a few other byte pairs: those only cost a compare).
  for (let i = start, end = start + length; i < end; i++) h = Math.imul(h ^ (src[i] | 0x20), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Whether two wire names are equal ignoring ASCII case. */
export function wireEquals(a: Uint8Array, aStart: number, b: Uint8Array, bStart: number, length: number): boolean {
  for (let i = 0; i < length; i++) if (LOWER[a[aStart + i]] !== LOWER[b[bStart + i]]) return false;
  return true;
}

/** Length of the uncompressed wire name at `start` (labels plus the root byte). */
export function wireNameLength(src: Uint8Array, start: number): number {
  let at = start;
  while (src[at] !== 0) at += src[at] + 1;
  return at + 1 - start;
}

/**
 * Whether the wire name (`src`, `start`, `length`) is `ancestor` or below it: `ancestor` must be
 * a suffix that starts on a label boundary.
 */
export function isSubdomainWire(src: Uint8Array, start: number, length: number, ancestor: Uint8Array): boolean {
  const tail = ancestor.length;
  if (length < tail) return false;
  let at = start;
  const suffixAt = start + length - tail;
  while (at < suffixAt) at += src[at] + 1;
  return at === suffixAt && wireEquals(src, suffixAt, ancestor, 0, tail);
}

const RECENT = 16384;

export class NameTable {
  private readonly bytes: ByteWriter;
  /** Per id: offset of its wire form in `bytes`, and its length. */
  private meta = new Uint32Array(2048);
  /**
   * Open addressing, two words per slot: id + 1 (0 for empty) and the name's hash, side by side
   * so that a probe touches one cache line. The table is at most half full.
   */
  private slots: Int32Array;
  private count = 0;

  constructor(expectedNames = 1024) {
    this.bytes = new ByteWriter(Math.max(1 << 16, expectedNames * 20));
    let pairs = 2048;
    while (pairs < 2 * expectedNames) pairs *= 2;
    this.slots = new Int32Array(2 * pairs);
  }

  get size(): number {
    return this.count;
  }

  /**
   * Names found recently, by the low bits of their hash: lookups for answers repeat the same
   * (hot) names, and this small table stays in cache where the large one is a cache miss or
   * three per probe.
   */
  private readonly recentHash = new Int32Array(RECENT);
  private readonly recentId = new Int32Array(RECENT).fill(-1);

  /** Id of the name, or -1. */
  find(src: Uint8Array, start: number, length: number): number {
    const hash = hashWire(src, start, length);
    const r = hash & (RECENT - 1);
    const recent = this.recentId[r];
    if (recent >= 0 && this.recentHash[r] === (hash | 0) && this.meta[2 * recent + 1] === length && wireEquals(this.bytes.buf, this.meta[2 * recent], src, start, length)) return recent;
    const id = this.probe(src, start, length, hash);
    if (id >= 0) {
      this.recentHash[r] = hash;
      this.recentId[r] = id;
    }
    return id;
  }

  /** Id of the name, adding it (in the case given) when it is new. */
  intern(src: Uint8Array, start: number, length: number): number {
    const hash = hashWire(src, start, length);
    const found = this.probe(src, start, length, hash);
    if (found >= 0) return found;
    const id = this.count++;
    if (2 * id + 2 > this.meta.length) {
      const bigger = new Uint32Array(this.meta.length * 2);
      bigger.set(this.meta);
      this.meta = bigger;
    }
    if (this.count * 4 > this.slots.length) this.rehash();
    this.meta[2 * id] = this.bytes.length;
    this.meta[2 * id + 1] = length;
    this.bytes.bytes(src, start, start + length);
    this.place(this.slots, id, hash);
    return id;
  }

  /** The buffer holding the name's wire form at `offset(id)`; valid until the next intern. */
  get buffer(): Buffer {
    return this.bytes.buf;
  }

  offset(id: number): number {
    return this.meta[2 * id];
  }

  wireLength(id: number): number {
    return this.meta[2 * id + 1];
  }

  /** The name's wire form in the case it was first seen (a view: do not modify). */
  wire(id: number): Buffer {
    const at = this.meta[2 * id];
    return this.bytes.buf.subarray(at, at + this.meta[2 * id + 1]);
  }

  /** Presentation form (canonical escapes, first-seen case, trailing dot). */
  text(id: number): string {
    return nameFromWire(this.bytes.buf, this.meta[2 * id]).name;
  }

  /** Drops spare capacity once the zone is complete. */
  trim(): void {
    this.bytes.trim();
    this.meta = this.meta.slice(0, 2 * this.count);
  }

  private probe(src: Uint8Array, start: number, length: number, hash: number): number {
    const slots = this.slots;
    const mask = (slots.length >> 1) - 1;
    const meta = this.meta;
    const buf = this.bytes.buf;
    const h = hash | 0;
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const entry = slots[2 * i];
      if (entry === 0) return -1;
      if (slots[2 * i + 1] !== h) continue;
      const id = entry - 1;
      if (meta[2 * id + 1] === length && wireEquals(buf, meta[2 * id], src, start, length)) return id;
    }
  }

  private place(slots: Int32Array, id: number, hash: number): void {
    const mask = (slots.length >> 1) - 1;
    let i = hash & mask;
    while (slots[2 * i] !== 0) i = (i + 1) & mask;
    slots[2 * i] = id + 1;
    slots[2 * i + 1] = hash;
  }

  private rehash(): void {
    const old = this.slots;
    const slots = new Int32Array(old.length * 2);
    for (let i = 0; i < old.length; i += 2) if (old[i] !== 0) this.place(slots, old[i] - 1, old[i + 1] >>> 0);
    this.slots = slots;
  }
}
