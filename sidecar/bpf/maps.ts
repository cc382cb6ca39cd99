/**
 * SantaMaps: the sidecar's one handle on the program's maps, however they were obtained (a
 * libbpf load, pins of ours, bpfman's map_pin_path).
 *
 * The cache is two mmapped arrays (santa_abi.h, "the cache"): entries are written straight
 * into map memory and published with one 8-byte store into the index, so installing a hot set
 * costs no syscalls and a running program never sees a half-written entry. This handle is the
 * only writer while it is open; it keeps a mirror of the index and knows which entry ids are
 * free. Readers (lookup, entries) read the maps themselves, so they also see another process's
 * writes.
 */
import { join } from 'path';
import { performance } from 'perf_hooks';
import { randomBytes } from 'crypto';
import { endianness } from 'os';
import { perCpuStride, SantaAbi, santaAbi, santaMapNames } from './abi';
import {
  CacheKey,
  cacheKey,
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
import { KernelClock, kernelClock } from './kernel-clock';
import { LoadedObject, loadNative, MapInfo, SantaNative } from './native';
import { MissFilter } from './miss-filter';

export interface CacheEntry extends CacheKey {
  /** As cacheValue returns it (compact) or full-size: the rest is zero-filled. */
  value: Buffer;
}

export interface InstalledEntry {
  key: DecodedKey;
  value: DecodedValue;
}

/** Up to this many slots, single lookups beat reading the whole hits map. */
const SINGLE_LOOKUP_SLOTS = 32;

interface Placement {
  id: number;
  /** Index of the way (group * ways + way) that publishes the entry. */
  way: number;
  /** The key's bit in the miss filter. */
  filterBit: number;
}

/** Thrown by install when an entry cannot be placed; `written` entries before it are in. */
export interface InstallError extends Error {
  code: 'E2BIG';
  written: number;
}

export class SantaMaps {
  private readonly info = new Map<string, MapInfo>();
  private readonly cpus: number;
  private closed = false;
  private readonly entriesMem: number;
  private readonly indexMem: number;
  private readonly filterMem: number;
  private readonly zoneGensMem: number;
  private readonly filter: MissFilter;
  /** The miss filter's size as 64 - log2 of its bits (santa_settings.filter_shift once adopted). */
  private readonly filterShift: number;
  private readonly entryStride: number;
  private readonly maxEntries: number;
  private readonly groups: number;
  private readonly ways: number;
  /** The entry-id bits of an index way; the rest is the key's hash tag. */
  private readonly idMask: bigint;
  private seed = 0;
  /** What this handle last published in each way (host-order u64s). */
  private readonly mirror: BigUint64Array;
  /** The same words as 32-bit halves: the per-install scans (free ways, tags) read these, as
   * plain numbers; a BigUint64Array read allocates a BigInt each time. */
  private readonly mirrorHalves: Uint32Array;
  private readonly lowHalf = endianness() === 'LE' ? 0 : 1;
  /** Scratch for comparing an installed value with a new one. */
  private readonly valueScratch: Buffer;
  private readonly placed = new Map<string, Placement>();
  /** The key (as in `placed`) each occupied way publishes. */
  private readonly wayKeys: Array<string | undefined> = [];
  /** Entry ids free to write now (a stack), and retired ids waiting for a grace period (or,
   * without one, for SANTA_REUSE_DELAY_MS). */
  private readonly free: number[] = [];
  private readonly quarantine: Array<{ id: number; until: number }> = [];
  private readonly staging: Buffer;
  private clockCache?: KernelClock;
  /** Keys left uncached because another key in their groups has the same hash tag. */
  tagCollisions = 0;

  private constructor(
    private readonly fds: ReadonlyMap<string, number>,
    private readonly ownsFds: boolean,
    private readonly bpf: SantaNative,
    private readonly abi: SantaAbi,
  ) {
    this.cpus = bpf.numPossibleCpus();
    const mapped: number[] = [];
    try {
      this.checkLayout();
      this.entryStride = Math.ceil(abi.entry.size / 8) * 8;
      this.maxEntries = this.info.get(abi.maps.entries)!.maxEntries;
      this.groups = this.info.get(abi.maps.index)!.maxEntries;
      this.ways = abi.index.ways;
      this.idMask = (1n << BigInt(abi.index.idBits)) - 1n;
      if (abi.index.idBits >= 32) throw new Error(`index ways with ${abi.index.idBits} id bits: the tag scan assumes fewer than 32`);
      if (this.maxEntries >= 2 ** abi.index.idBits - 1) throw new Error(`${abi.maps.entries} has ${this.maxEntries} entries; index ways address fewer than ${2 ** abi.index.idBits - 1}`);
      if (this.groups & (this.groups - 1)) throw new Error(`${abi.maps.index} has ${this.groups} groups, not a power of two`);
      mapped.push((this.entriesMem = bpf.mapMmap(this.fd(abi.maps.entries))));
      mapped.push((this.indexMem = bpf.mapMmap(this.fd(abi.maps.index))));
      const filterBits = this.filterBits();
      this.filterShift = 64 - Math.log2(filterBits);
      mapped.push((this.filterMem = bpf.mapMmap(this.fd(abi.maps.filter))));
      this.filter = new MissFilter(bpf, this.filterMem, filterBits);
      mapped.push((this.zoneGensMem = bpf.mapMmap(this.fd(abi.maps.zoneGens))));
      this.staging = Buffer.alloc(abi.entry.size);
      this.valueScratch = Buffer.alloc(abi.value.size);
      this.mirror = this.readIndex();
      this.mirrorHalves = new Uint32Array(this.mirror.buffer);
      this.adopt();
    } catch (e) {
      for (const m of mapped) bpf.mapMunmap(m);
      this.closed = true;
      if (ownsFds) for (const fd of fds.values()) bpf.closeFd(fd);
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
    expect(this.abi.maps.entries, u32, this.abi.entry.size);
    expect(this.abi.maps.index, u32, this.abi.index.groupSize);
    expect(this.abi.maps.filter, u32, 8);
    expect(this.abi.maps.hits, u32, this.abi.hits.valueSize);
    expect(this.abi.maps.settings, u32, this.abi.settings.size);
    expect(this.abi.maps.stats, u32, this.abi.stats.size);
    expect(this.abi.maps.zoneGens, u32, 4);
    const gens = this.info.get(this.abi.maps.zoneGens)!.maxEntries;
    if (gens !== this.abi.zoneGens.slots) throw new Error(`map ${this.abi.maps.zoneGens} has ${gens} slots; the program masks zone slots to ${this.abi.zoneGens.slots}`);
  }

  /** The filter map's bits: its words must be a power of two the program can address. */
  private filterBits(): number {
    const words = this.info.get(this.abi.maps.filter)!.maxEntries;
    if ((words & (words - 1)) !== 0 || words > this.abi.filter.wordsMax) {
      throw new Error(`${this.abi.maps.filter} has ${words} words; the miss filter needs a power of two up to ${this.abi.filter.wordsMax}`);
    }
    return words * 64;
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

  /** The kernel clock leases are written in (measured once per process). */
  get clock(): KernelClock {
    return (this.clockCache ??= kernelClock(this.bpf, this.abi));
  }

  /** A lease end at monotonic time `ns`, as entries hold it. */
  leaseJiffies(ns: bigint): bigint {
    return this.clock.jiffiesAt(ns);
  }

  // ---- the index ---------------------------------------------------------------------

  private readIndex(): BigUint64Array {
    const bytes = this.groups * this.abi.index.groupSize;
    const copy = this.bpf.mapMemRead(this.indexMem, 0, bytes);
    // An aligned copy: BigUint64Array needs 8-byte alignment, a Buffer from the pool has none.
    const words = new BigUint64Array(bytes / 8);
    Buffer.from(words.buffer).set(copy);
    return words;
  }

  /**
   * Learns what is installed (a restart adopts the maps of the previous run) and settles the
   * hash seed: a fresh, empty index gets a random one, a populated one keeps its own.
   */
  private adopt(): void {
    const s = this.abi.settings;
    const settings = this.readSettingsBytes();
    const mask = hostOrder.readU32(settings, s.indexMask);
    this.seed = hostOrder.readU32(settings, s.hashSeed);
    const populated = this.mirror.some((w) => w !== 0n);
    if (mask !== this.groups - 1) {
      // Fresh maps (or an index resized under an empty cache): nothing is hashed yet.
      if (populated) throw new Error(`${this.abi.maps.settings} says the index has ${mask + 1} groups, but ${this.abi.maps.index} has ${this.groups}`);
      this.seed = randomBytes(4).readUInt32LE(0);
      hostOrder.writeU32(settings, s.hashSeed, this.seed);
      hostOrder.writeU32(settings, s.indexMask, this.groups - 1);
      this.writeSettingsBytes(settings);
    }
    const used = new Uint8Array(this.maxEntries);
    this.mirror.forEach((w, way) => {
      if (w === 0n) return;
      const id = Number(w & this.idMask) - 1;
      if (id < 0 || id >= this.maxEntries || used[id]) throw new Error(`${this.abi.maps.index} way ${way} holds entry ${id}, which is out of range or published twice`);
      used[id] = 1;
      const keyBytes = this.readKey(id);
      const key = keyBytes.toString('latin1');
      this.placed.set(key, { id, way, filterBit: this.bpf.keyHash(this.seed, this.groups - 1, this.filterShift, keyBytes)[3] });
      this.wayKeys[way] = key;
    });
    // A filter of another size is turned off while its words are rewritten (the program then
    // looks every query up), so no installed key is ever reported absent by a half-built one.
    const resized = hostOrder.readU32(settings, s.filterShift) !== this.filterShift;
    if (resized) this.writeFilterShift(0);
    this.filter.adopt([...this.placed.values()].map((p) => p.filterBit));
    if (resized) this.writeFilterShift(this.filterShift);
    // Maps written by an earlier version may have holes before occupied ways, which the program
    // (it stops at a group's first empty way) would not look past.
    for (let g = 0; g < this.groups; g++) this.compactGroup(g);
    // Ids nobody publishes may still have been read a moment ago by the previous writer's
    // readers: those that ever held an entry are retired like any other.
    const until = performance.now() + this.abi.limits.REUSE_DELAY_MS;
    for (let id = this.maxEntries - 1; id >= 0; id--) {
      if (used[id]) continue;
      if (this.readKeyHeaderWord(id) === 0n) this.free.push(id);
      else this.quarantine.push({ id, until });
    }
  }

  private writeFilterShift(shift: number): void {
    const settings = this.readSettingsBytes();
    hostOrder.writeU32(settings, this.abi.settings.filterShift, shift);
    this.writeSettingsBytes(settings);
  }

  private entryOffset(id: number): number {
    return id * this.entryStride;
  }

  /** An entry's key without its zero padding. */
  private readKey(id: number): Buffer {
    const header = this.bpf.mapMemRead(this.entriesMem, this.entryOffset(id) + this.abi.entry.key, this.abi.key.name);
    const nameLength = header[this.abi.keyHeader.nameLen];
    return this.bpf.mapMemRead(this.entriesMem, this.entryOffset(id) + this.abi.entry.key, this.abi.key.name + nameLength);
  }

  private readKeyHeaderWord(id: number): bigint {
    return hostOrder.readU64(this.bpf.mapMemRead(this.entriesMem, this.entryOffset(id) + this.abi.entry.key, 8), 0);
  }

  private publish(way: number, value: bigint): void {
    this.bpf.mapMemStoreU64(this.indexMem, way * 8, value);
    this.mirror[way] = value;
  }

  /**
   * Moves the entry published in way `from` to way `to` of the same group, overwriting what
   * `to` held: published there first, then cleared where it was. A program scanning meanwhile
   * finds it in one of the two or, at worst, misses it this once (the query goes to BIND).
   */
  private moveWay(from: number, to: number): void {
    const key = this.wayKeys[from]!;
    this.publish(to, this.mirror[from]);
    this.wayKeys[to] = key;
    this.publish(from, 0n);
    this.wayKeys[from] = undefined;
    this.placed.get(key)!.way = to;
  }

  /** Closes the holes in group g, keeping its entries in order. */
  private compactGroup(g: number): void {
    let fill = g * this.ways;
    for (let way = g * this.ways; way < (g + 1) * this.ways; way++) {
      if (this.wayEmpty(way)) continue;
      if (way !== fill) this.moveWay(way, fill);
      fill++;
    }
  }

  private takeId(): number | undefined {
    if (this.free.length === 0 && this.quarantine.length) this.releaseRetired();
    return this.free.pop();
  }

  /** Frees every retired id no running program can still be reading. */
  private releaseRetired(): void {
    if (this.bpf.rcuBarrier()) {
      for (const q of this.quarantine) this.free.push(q.id);
      this.quarantine.length = 0;
      return;
    }
    const now = performance.now();
    while (this.quarantine.length && this.quarantine[0].until <= now) this.free.push(this.quarantine.shift()!.id);
  }

  private retire(id: number): void {
    this.quarantine.push({ id, until: performance.now() + this.abi.limits.REUSE_DELAY_MS });
  }

  private wayEmpty(way: number): boolean {
    return (this.mirrorHalves[2 * way] | this.mirrorHalves[2 * way + 1]) === 0;
  }

  /** A free way in the emptier of the key's two groups (two choices keep groups even), or -1.
   * It is the group's first empty way: occupied ways always come first (santa_abi.h). */
  private freeWay(group1: number, group2: number): number {
    const free = (g: number) => {
      let n = 0;
      for (let w = 0; w < this.ways; w++) if (this.wayEmpty(g * this.ways + w)) n++;
      return n;
    };
    const g = free(group2) > free(group1) ? group2 : group1;
    for (let w = 0; w < this.ways; w++) if (this.wayEmpty(g * this.ways + w)) return g * this.ways + w;
    return -1;
  }

  /** Another way of the two groups holds this tag (the tag's id bits are zero). */
  private tagTaken(tag: bigint, group1: number, group2: number): boolean {
    // A tag is the way's top 64 - idBits bits: all of the high half and the top of the low one.
    const idBits = this.abi.index.idBits;
    const tagHigh = Number(tag >> 32n);
    const tagLow = Number((tag & 0xffffffffn) >> BigInt(idBits));
    for (const g of [group1, group2]) {
      for (let w = 0; w < this.ways; w++) {
        const way = g * this.ways + w;
        const low = this.mirrorHalves[2 * way + this.lowHalf];
        const high = this.mirrorHalves[2 * way + 1 - this.lowHalf];
        if ((low | high) !== 0 && high === tagHigh && low >>> idBits === tagLow) return true;
      }
    }
    return false;
  }

  /** Writes key and value into entry `id`, which no way publishes. */
  private writeEntry(id: number, key: Buffer, value: Buffer): void {
    const e = this.abi.entry;
    this.staging.fill(0);
    key.copy(this.staging, e.key);
    value.copy(this.staging, e.value);
    this.bpf.mapMemWrite(this.entriesMem, this.entryOffset(id), this.staging);
  }

  /** The first `length` bytes of entry id's value, in valueScratch (valid until the next call). */
  private valueInScratch(id: number, length: number): Buffer {
    const view = this.valueScratch.subarray(0, length);
    this.bpf.mapMemReadInto(this.entriesMem, this.entryOffset(id) + this.abi.entry.value, view);
    return view;
  }

  /**
   * Inserts or replaces entries; returns how many were written. A new reply goes to a fresh
   * entry published in the key's way; a renewal of the same reply only moves the lease, in
   * place. A key whose hash tag another key in its groups already has is skipped (BIND keeps
   * answering it; counted in tagCollisions). When an entry cannot be placed (no free id, or no
   * free way in its two groups), an InstallError says how many were written before it.
   */
  install(entries: readonly CacheEntry[]): number {
    const v = this.abi.value;
    const mask = this.groups - 1;
    let written = 0;
    for (const [i, e] of entries.entries()) {
      if (e.value.length < v.tail || e.value.length > v.size) {
        throw new RangeError(`entry ${i}: a ${e.value.length}-byte value, expected ${v.tail}..${v.size}`);
      }
      this.checkKey(e.key, i);
      const ks = e.key.toString('latin1');
      const old = this.placed.get(ks);
      if (old && this.sameReply(old.id, e.value)) {
        this.bpf.mapMemStoreU64(this.entriesMem, this.entryOffset(old.id) + this.abi.entry.value + v.expiresJiffies, hostOrder.readU64(e.value, v.expiresJiffies));
        written++;
        continue;
      }
      const [tag, group1, group2, filterBit] = this.bpf.keyHash(this.seed, mask, this.filterShift, e.key);
      // The program takes the first way holding the tag: two keys may not share one. This one
      // stays uncached (BIND answers it); it is about as likely as a 36-bit hash collision.
      if (!old && this.tagTaken(tag, group1, group2)) {
        this.tagCollisions++;
        continue;
      }
      const way = old ? old.way : this.freeWay(group1, group2);
      const id = way < 0 ? undefined : this.takeId();
      if (id === undefined) {
        throw this.installError(written, way < 0 ? `no free way for the key in index groups ${group1} and ${group2}` : `${this.abi.maps.entries} is full (${this.maxEntries} entries)`, entries.length);
      }
      this.writeEntry(id, e.key, e.value);
      if (!old) this.filter.add(filterBit);
      this.publish(way, tag | BigInt(id + 1));
      if (old) this.retire(old.id);
      this.placed.set(ks, { id, way, filterBit });
      this.wayKeys[way] = ks;
      written++;
    }
    return written;
  }

  /** Refuses a malformed key before anything is written for it. */
  private checkKey(key: Buffer, i: number): void {
    const nameLength = key[this.abi.keyHeader.nameLen];
    if (key.length < this.abi.key.name + 1 || nameLength === undefined || key.length !== this.abi.key.name + nameLength) {
      throw new RangeError(`entry ${i}: a ${key.length}-byte key whose name length says ${nameLength}`);
    }
  }

  /** The installed entry holds this very reply (all but the lease equal). Comparing the new
   * value's length suffices: it includes tail_len, so a longer old reply differs there. */
  private sameReply(id: number, value: Buffer): boolean {
    const lease = this.abi.value.expiresJiffies;
    const current = this.valueInScratch(id, value.length);
    return current.compare(value, 0, lease, 0, lease) === 0 && current.compare(value, lease + 8, value.length, lease + 8, value.length) === 0;
  }

  private installError(written: number, why: string, total: number): InstallError {
    const err = new Error(`install: ${written} of ${total} entries written, then ${why}`) as InstallError;
    err.code = 'E2BIG';
    err.written = written;
    return err;
  }

  /** Deletes entries; keys that are not installed are ignored. Returns how many were removed. */
  remove(keys: readonly CacheKey[]): number {
    let removed = 0;
    for (const k of keys) {
      const ks = k.key.toString('latin1');
      const p = this.placed.get(ks);
      if (!p) continue;
      // The group's last entry moves into the removed one's way (one store unpublishes the
      // removed entry and republishes the moved one), so occupied ways stay first.
      const group = Math.floor(p.way / this.ways);
      let last = (group + 1) * this.ways - 1;
      while (this.wayEmpty(last)) last--;
      if (last !== p.way) this.moveWay(last, p.way);
      else {
        this.publish(p.way, 0n);
        this.wayKeys[p.way] = undefined;
      }
      this.placed.delete(ks);
      this.filter.drop(p.filterBit);
      this.retire(p.id);
      removed++;
    }
    return removed;
  }

  /** One installed entry, or null (read from the maps, not from this handle's mirror). */
  lookup(key: CacheKey): InstalledEntry | null {
    decodeCacheKey(key.key, this.abi);
    const [tag, group1, group2] = this.bpf.keyHash(this.seedInMaps(), this.groups - 1, this.filterShift, key.key);
    for (const g of [group1, group2]) {
      const group = this.bpf.mapMemRead(this.indexMem, g * this.abi.index.groupSize, this.abi.index.groupSize);
      for (let w = 0; w < this.ways; w++) {
        const way = hostOrder.readU64(group, w * 8);
        if (way === 0n || (way & ~this.idMask) !== tag) continue;
        const id = Number(way & this.idMask) - 1;
        if (this.readKey(id).equals(key.key)) return this.decodeEntry(id);
      }
    }
    return null;
  }

  /** Whether the program's miss filter lets this key's queries through to the index now (read
   * from the map). */
  filterAdmits(key: CacheKey): boolean {
    decodeCacheKey(key.key, this.abi);
    if (hostOrder.readU32(this.readSettingsBytes(), this.abi.settings.filterShift) === 0) return true; // the filter is off
    return this.filter.isSet(this.bpf.keyHash(this.seedInMaps(), this.groups - 1, this.filterShift, key.key)[3]);
  }

  /** Every installed entry, decoded (read from the maps). */
  entries(): InstalledEntry[] {
    const out: InstalledEntry[] = [];
    this.readIndex().forEach((w) => {
      if (w !== 0n) out.push(this.decodeEntry(Number(w & this.idMask) - 1));
    });
    return out;
  }

  /** Entries this handle has published (its own view, without reading the maps). */
  get installedCount(): number {
    return this.placed.size;
  }

  private decodeEntry(id: number): InstalledEntry {
    const raw = this.bpf.mapMemRead(this.entriesMem, this.entryOffset(id), this.abi.entry.size);
    return {
      key: decodeCacheKey(raw.subarray(this.abi.entry.key, this.abi.entry.key + this.abi.key.size), this.abi),
      value: decodeCacheValue(raw.subarray(this.abi.entry.value), this.abi),
    };
  }

  /**
   * The zone change guard's slot for a zone (santa_abi.h): the key hash of (apex, SOA, IN) with
   * no query bits, as the program computes it from an UPDATE's or NOTIFY's zone name.
   */
  zoneSlot(apex: string | Uint8Array): number {
    const key = cacheKey({ name: apex, type: this.abi.zoneGens.soaType, class: this.abi.zoneGens.inClass }, 0, this.abi);
    return this.bpf.keyHash(this.seed, this.abi.zoneGens.slots - 1, this.filterShift, key.key)[1];
  }

  /** Every zone slot's generation now (the program bumps them; nothing here writes them). */
  readZoneGens(): Uint32Array {
    // An array map's elements are 8-byte aligned: a u32 slot takes 8 bytes of map memory.
    const stride = perCpuStride(4);
    const bytes = this.bpf.mapMemRead(this.zoneGensMem, 0, this.abi.zoneGens.slots * stride);
    const out = new Uint32Array(this.abi.zoneGens.slots);
    for (let i = 0; i < out.length; i++) out[i] = hostOrder.readU32(bytes, i * stride);
    return out;
  }

  private seedInMaps(): number {
    return hostOrder.readU32(this.readSettingsBytes(), this.abi.settings.hashSeed);
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

  /** Writes the operator's settings; the index and filter fields (mask, seed, filter size) stay as
   * this handle set them. */
  writeSettings(settings: SantaSettings): void {
    const bytes = encodeSettings(settings, this.abi);
    const current = this.readSettingsBytes();
    for (const field of [this.abi.settings.indexMask, this.abi.settings.hashSeed, this.abi.settings.filterShift]) hostOrder.writeU32(bytes, field, hostOrder.readU32(current, field));
    this.writeSettingsBytes(bytes);
  }

  readSettings(): SantaSettings {
    return decodeSettings(this.readSettingsBytes(), this.abi);
  }

  private readSettingsBytes(): Buffer {
    const v = this.bpf.lookup(this.fd(this.abi.maps.settings), this.slotKey(0));
    if (!v) throw new Error(`${this.abi.maps.settings} element 0 cannot be read`);
    return v;
  }

  private writeSettingsBytes(bytes: Buffer): void {
    this.bpf.update(this.fd(this.abi.maps.settings), this.slotKey(0), bytes);
  }

  /** Closes the fds this handle opened (maps from a loaded object stay with the object). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.bpf.mapMunmap(this.entriesMem);
    this.bpf.mapMunmap(this.indexMem);
    this.bpf.mapMunmap(this.filterMem);
    this.bpf.mapMunmap(this.zoneGensMem);
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
