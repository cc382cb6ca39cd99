/**
 * The Santa map layout (xdp/include/santa_abi.h) as the C compiler computed it, read once from
 * the native binding. No TypeScript file repeats a number from the header: codecs take their
 * offsets and sizes from here, so a header change cannot silently desynchronise them.
 */
import { loadNative, NativeAbi } from './native';

export type SantaAbi = Readonly<NativeAbi>;

let cached: SantaAbi | undefined;

export function santaAbi(): SantaAbi {
  if (!cached) cached = deepFreeze(loadNative().abi());
  return cached;
}

/** Bytes one CPU's copy of a per-CPU value occupies in what the kernel returns. */
export function perCpuStride(valueSize: number): number {
  return Math.ceil(valueSize / 8) * 8;
}

/**
 * Entry slots for a cache of `maxEntries` questions: an entry whose reply changes is written to
 * a free slot before the old one is retired, so a full cache needs spare slots to change.
 */
export function entrySlotsFor(maxEntries: number): number {
  if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new RangeError(`a cache holds at least one entry, not ${maxEntries}`);
  return maxEntries + Math.max(64, Math.ceil(maxEntries / 8));
}

/** The most questions a santa_entries array of `slots` holds with entrySlotsFor's spare. */
export function maxEntriesFor(slots: number): number {
  let n = Math.max(1, Math.floor((slots * 8) / 9));
  while (n > 1 && entrySlotsFor(n) > slots) n--;
  return n;
}

/**
 * Index groups for a cache of `entries`: a power of two with at least twice as many ways as
 * entries, so that a key almost never finds both of its groups full.
 */
export function indexGroupsFor(entries: number, abi: SantaAbi): number {
  if (!Number.isInteger(entries) || entries < 1) throw new RangeError(`a cache holds at least one entry, not ${entries}`);
  let groups = 1;
  while (groups * abi.index.ways < 2 * entries) groups *= 2;
  return groups;
}

/**
 * Miss-filter words for a cache of `entries`: a power of two with about 16 bits per entry (a
 * miss is looked up anyway with a chance of about entries / bits), never below the default.
 */
export function filterWordsFor(entries: number, abi: SantaAbi): number {
  if (!Number.isInteger(entries) || entries < 1) throw new RangeError(`a cache holds at least one entry, not ${entries}`);
  let words = abi.filter.wordsDefault;
  while (words * 64 < 16 * entries && words < abi.filter.wordsMax) words *= 2;
  return words;
}

/** Every map the Santa program defines, by its pinned name. */
export function santaMapNames(abi: SantaAbi): string[] {
  return [abi.maps.entries, abi.maps.index, abi.maps.filter, abi.maps.hits, abi.maps.settings, abi.maps.stats, abi.maps.zoneGens, abi.rrl.maps.config, abi.rrl.maps.buckets];
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o as object)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
