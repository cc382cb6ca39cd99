/**
 * A fixed-size hash index from question keys to the ranking's entries (open addressing,
 * linear probing, backward-shift deletion). It replaces a Map keyed by a composed string:
 * building and hashing that string for every query cost more than the rest of the ranking.
 * Here a query costs one pass over the name's characters and no allocation.
 */
import { QuestionKey } from './question-key';

export interface Indexed {
  key: QuestionKey;
  hash: number;
}

export function hashKey(key: QuestionKey): number {
  let h = 0x811c9dc5 ^ key.qtype ^ (key.qclass << 16);
  const name = key.name;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  h = Math.imul(h ^ key.flags, 0x01000193);
  // Finaliser (MurmurHash3 fmix32): FNV's low bits, which pick the slot, are weak alone.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

function sameKey(a: QuestionKey, b: QuestionKey): boolean {
  return a.qtype === b.qtype && a.flags === b.flags && a.qclass === b.qclass && a.name === b.name;
}

export class KeyIndex<E extends Indexed> {
  private readonly slots: Array<E | undefined>;
  private readonly mask: number;

  /** Holds up to `capacity` entries at a load factor of at most one half. */
  constructor(capacity: number) {
    let size = 16;
    while (size < capacity * 2) size *= 2;
    this.slots = new Array<E | undefined>(size).fill(undefined);
    this.mask = size - 1;
  }

  find(key: QuestionKey, hash: number): E | undefined {
    const slots = this.slots;
    for (let i = hash & this.mask; ; i = (i + 1) & this.mask) {
      const e = slots[i];
      if (e === undefined) return undefined;
      if (e.hash === hash && sameKey(e.key, key)) return e;
    }
  }

  /** Adds an entry whose key is not in the index. */
  insert(entry: E): void {
    let i = entry.hash & this.mask;
    while (this.slots[i] !== undefined) i = (i + 1) & this.mask;
    this.slots[i] = entry;
  }

  remove(entry: E): void {
    const slots = this.slots;
    const mask = this.mask;
    let i = entry.hash & mask;
    while (slots[i] !== entry) {
      if (slots[i] === undefined) return;
      i = (i + 1) & mask;
    }
    // Backward shift: pull later members of the probe run into the hole so lookups never
    // stop early at it (no tombstones, so the table never degrades under churn).
    for (let j = (i + 1) & mask; ; j = (j + 1) & mask) {
      const e = slots[j];
      if (e === undefined) break;
      const home = e.hash & mask;
      // Move e if its home slot is not in the cyclic range (i, j].
      if (i <= j ? home <= i || home > j : home <= i && home > j) {
        slots[i] = e;
        i = j;
      }
    }
    slots[i] = undefined;
  }
}
