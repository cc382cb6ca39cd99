/**
 * SantaMaps: the sidecar's one handle on the program's maps, however they were obtained (a
 * libbpf load, pins of ours, bpfman's map_pin_path). Writes go in batches, one syscall per few
 * thousand entries per tier, so installing a whole hot set is cheap.
 */
import { join } from 'path';
import { perCpuStride, SantaAbi, santaAbi, santaMapNames, tierByMapName } from './abi';
import {
  CacheKey,
  decodeCacheKey,
  decodeCacheValue,
  decodeSettings,
  decodeStats,
  DecodedKey,
  DecodedValue,
  encodeSettings,
  hostOrder,
  perCpuTotals,
  SantaSettings,
  sumPerCpuU64,
} from './codec';
import { isBpfError, LoadedObject, loadNative, MapInfo, SantaNative } from './native';

export interface CacheEntry extends CacheKey {
  /** As cacheValue returns it (compact) or full-size: the rest is zero-filled. */
  value: Buffer;
}

export interface InstalledEntry {
  key: DecodedKey;
  value: DecodedValue;
}

/** Entries per batch syscall: large enough to amortise the syscall, small enough (~5 MB of
 * values) that the staging buffers stay modest. */
export const INSTALL_BATCH = 4096;
const BATCH = INSTALL_BATCH;
/** Up to this many slots, single lookups beat reading the whole hits map. */
const SINGLE_LOOKUP_SLOTS = 32;

export class SantaMaps {
  private readonly info = new Map<string, MapInfo>();
  private readonly cpus: number;
  private closed = false;

  private constructor(
    private readonly fds: ReadonlyMap<string, number>,
    private readonly ownsFds: boolean,
    private readonly bpf: SantaNative,
    private readonly abi: SantaAbi,
  ) {
    this.cpus = bpf.numPossibleCpus();
    try {
      this.checkLayout();
    } catch (e) {
      this.close();
      throw e;
    }
  }

  /** The maps of an object loaded through the binding (the object keeps owning the fds). */
  static fromLoadedObject(obj: LoadedObject, bpf: SantaNative = loadNative(), abi: SantaAbi = santaAbi()): SantaMaps {
    const fds = new Map<string, number>();
    for (const name of santaMapNames(abi)) {
      const fd = obj.maps[name];
      if (fd === undefined) throw new Error(`the loaded object has no map ${name} (it has ${Object.keys(obj.maps).join(', ')})`);
      fds.set(name, fd);
    }
    return new SantaMaps(fds, false, bpf, abi);
  }

  /** Opens the maps pinned as <dir>/<map name> (our pin dir, or bpfman's map_pin_path). */
  static openPinned(dir: string, bpf: SantaNative = loadNative(), abi: SantaAbi = santaAbi()): SantaMaps {
    const fds = new Map<string, number>();
    try {
      for (const name of santaMapNames(abi)) fds.set(name, bpf.objGet(join(dir, name)));
    } catch (e) {
      for (const fd of fds.values()) bpf.closeFd(fd);
      throw e;
    }
    return new SantaMaps(fds, true, bpf, abi);
  }

  /** The program's maps must have this binary's layout, or every entry would be garbage. */
  private checkLayout(): void {
    const expect = (name: string, keySize: number, valueSize: number) => {
      const info = this.bpf.mapInfo(this.fd(name));
      if (info.keySize !== keySize || info.valueSize !== valueSize) {
        throw new Error(
          `map ${name} (id ${info.id}) has ${info.keySize}-byte keys and ${info.valueSize}-byte values; ` +
            `this build of Santa expects ${keySize} and ${valueSize}: the program and the sidecar come from different santa_abi.h`,
        );
      }
      this.info.set(name, info);
    };
    const u32 = 4;
    for (const tier of this.abi.tiers) expect(tier.mapName, tier.keySize, this.abi.value.size);
    expect(this.abi.maps.hits, u32, this.abi.hits.valueSize);
    expect(this.abi.maps.settings, u32, this.abi.settings.size);
    expect(this.abi.maps.stats, u32, this.abi.stats.size);
  }

  private fd(name: string): number {
    if (this.closed) throw new Error('SantaMaps is closed');
    const fd = this.fds.get(name);
    if (fd === undefined) throw new Error(`no map ${name}`);
    return fd;
  }

  /** max_entries of a map, e.g. the number of hit slots. */
  capacity(mapName: string): number {
    this.fd(mapName);
    return this.info.get(mapName)!.maxEntries;
  }

  /**
   * Inserts or replaces entries; returns how many were written. A failure (e.g. a full map)
   * throws an Error whose `written` counts the entries already in, in the order given per tier.
   */
  install(entries: readonly CacheEntry[]): number {
    let written = 0;
    for (const [mapName, group] of groupByMap(entries)) {
      const tier = tierByMapName(this.abi, mapName);
      const fd = this.fd(mapName);
      const valueSize = this.abi.value.size;
      const n = Math.min(BATCH, group.length);
      const keys = Buffer.allocUnsafe(n * tier.keySize);
      // Compact values need zero padding. The staging buffer starts zeroed and each row
      // remembers how much of it holds data, so a row is cleared only where its previous
      // value was longer: a few bytes per entry instead of the whole 1.2 KB row.
      const values = Buffer.alloc(n * valueSize);
      const used = new Int32Array(n);
      const minValue = this.abi.value.tail;
      for (let start = 0; start < group.length; start += BATCH) {
        const count = Math.min(BATCH, group.length - start);
        for (let i = 0; i < count; i++) {
          const e = group[start + i];
          if (e.key.length !== tier.keySize || e.value.length < minValue || e.value.length > valueSize) {
            throw new RangeError(
              `entry ${start + i} for ${mapName}: ${e.key.length}-byte key and ${e.value.length}-byte value, ` +
                `expected ${tier.keySize} and ${minValue}..${valueSize}`,
            );
          }
          keys.set(e.key, i * tier.keySize);
          values.set(e.value, i * valueSize);
          if (used[i] > e.value.length) values.fill(0, i * valueSize + e.value.length, i * valueSize + used[i]);
          used[i] = e.value.length;
        }
        try {
          written += this.bpf.updateBatch(
            fd,
            keys.subarray(0, count * tier.keySize),
            values.subarray(0, count * valueSize),
            count,
            this.bpf.updateFlags.ANY,
          );
        } catch (e) {
          throw this.installError(e, mapName, written, entries.length);
        }
      }
    }
    return written;
  }

  /** Says how far an install got (entries before it are in the maps) and why it stopped. */
  private installError(e: unknown, mapName: string, writtenBefore: number, total: number): Error {
    if (!isBpfError(e)) return e as Error;
    const written = writtenBefore + (e.done ?? 0);
    const full = e.code === 'E2BIG' ? ` (${mapName} is full: max_entries ${this.capacity(mapName)})` : '';
    const err = new Error(`install: ${written} of ${total} entries written, then ${e.message}${full}`) as Error & {
      code: string;
      errno: number;
      written: number;
    };
    err.code = e.code;
    err.errno = e.errno;
    err.written = written;
    return err;
  }

  /** Deletes entries; keys that are not installed are ignored. Returns how many were removed. */
  remove(keys: readonly CacheKey[]): number {
    let removed = 0;
    for (const [mapName, group] of groupByMap(keys)) {
      const tier = tierByMapName(this.abi, mapName);
      const fd = this.fd(mapName);
      const buf = Buffer.allocUnsafe(Math.min(BATCH, group.length) * tier.keySize);
      for (let start = 0; start < group.length; start += BATCH) {
        const count = Math.min(BATCH, group.length - start);
        for (let i = 0; i < count; i++) {
          const k = group[start + i].key;
          if (k.length !== tier.keySize) throw new RangeError(`key ${start + i} for ${mapName} is ${k.length} bytes, not ${tier.keySize}`);
          buf.set(k, i * tier.keySize);
        }
        removed += this.bpf.deleteBatch(fd, buf.subarray(0, count * tier.keySize), count);
      }
    }
    return removed;
  }

  /** One installed entry, or null. */
  lookup(key: CacheKey): InstalledEntry | null {
    const value = this.bpf.lookup(this.fd(key.mapName), key.key);
    if (!value) return null;
    return { key: decodeCacheKey(key.mapName, key.key, this.abi), value: decodeCacheValue(value, this.abi) };
  }

  /** Every installed entry, decoded. */
  entries(): InstalledEntry[] {
    const out: InstalledEntry[] = [];
    const valueSize = this.abi.value.size;
    for (const tier of this.abi.tiers) {
      const { keys, values, count } = this.bpf.lookupBatch(this.fd(tier.mapName));
      for (let i = 0; i < count; i++) {
        out.push({
          key: decodeCacheKey(tier.mapName, keys.subarray(i * tier.keySize, (i + 1) * tier.keySize), this.abi),
          value: decodeCacheValue(values.subarray(i * valueSize, (i + 1) * valueSize), this.abi),
        });
      }
    }
    return out;
  }

  /** Replies served from each slot so far (summed over CPUs), in the order of `slots`. */
  readHits(slots: readonly number[]): number[] {
    const fd = this.fd(this.abi.maps.hits);
    const size = this.abi.hits.valueSize;
    this.checkSlots(slots);
    if (slots.length <= SINGLE_LOOKUP_SLOTS) {
      return slots.map((slot) => {
        const v = this.bpf.lookup(fd, this.slotKey(slot));
        if (!v) throw new Error(`hit slot ${slot} cannot be read`);
        return Number(sumPerCpuU64(v, size));
      });
    }
    const all = this.bpf.lookupBatch(fd);
    const totals = perCpuTotals(all.values, all.count, size, this.cpus);
    // An array map lists its indices in order, but do not rely on it.
    const row = new Int32Array(this.info.get(this.abi.maps.hits)!.maxEntries).fill(-1);
    for (let i = 0; i < all.count; i++) row[hostOrder.readU32(all.keys, 4 * i)] = i;
    return slots.map((slot) => {
      if (row[slot] < 0) throw new Error(`hit slot ${slot} missing from the hits map`);
      return totals[row[slot]];
    });
  }

  /** Sets slots to zero on every CPU, before they are given to new entries. */
  zeroSlots(slots: readonly number[]): void {
    if (slots.length === 0) return;
    this.checkSlots(slots);
    const keys = Buffer.alloc(4 * slots.length);
    slots.forEach((s, i) => hostOrder.writeU32(keys, 4 * i, s));
    const values = Buffer.alloc(slots.length * perCpuStride(this.abi.hits.valueSize) * this.cpus);
    this.bpf.updateBatch(this.fd(this.abi.maps.hits), keys, values, slots.length, this.bpf.updateFlags.ANY);
  }

  zeroSlot(slot: number): void {
    this.zeroSlots([slot]);
  }

  /** Counter name -> total over CPUs. */
  readStats(): Record<string, number> {
    const v = this.bpf.lookup(this.fd(this.abi.maps.stats), this.slotKey(0));
    if (!v) throw new Error(`${this.abi.maps.stats} element 0 cannot be read`);
    return decodeStats(v, this.abi);
  }

  writeSettings(settings: SantaSettings): void {
    this.bpf.update(this.fd(this.abi.maps.settings), this.slotKey(0), encodeSettings(settings, this.abi));
  }

  readSettings(): SantaSettings {
    const v = this.bpf.lookup(this.fd(this.abi.maps.settings), this.slotKey(0));
    if (!v) throw new Error(`${this.abi.maps.settings} element 0 cannot be read`);
    return decodeSettings(v, this.abi);
  }

  /** Closes the fds this handle opened (maps from a loaded object stay with the object). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.ownsFds) for (const fd of this.fds.values()) this.bpf.closeFd(fd);
  }

  private checkSlots(slots: readonly number[]): void {
    const max = this.info.get(this.abi.maps.hits)!.maxEntries;
    for (const s of slots) {
      if (!Number.isInteger(s) || s < 0 || s >= max) throw new RangeError(`hit slot ${s} is outside 0..${max - 1}`);
    }
  }

  private slotKey(index: number): Buffer {
    const k = Buffer.alloc(4);
    hostOrder.writeU32(k, 0, index);
    return k;
  }
}

function groupByMap<T extends { mapName: string }>(items: readonly T[]): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    let g = groups.get(item.mapName);
    if (!g) groups.set(item.mapName, (g = []));
    g.push(item);
  }
  return groups;
}
