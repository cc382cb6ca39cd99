/**
 * SantaMaps on real kernel maps laid out by santa_abi.h (the santa_maps fixture object, whose
 * program only counts packets): install, renewal in place, replacement and removal through the
 * mmapped index, id reuse only after the delay, full maps, adoption of maps another handle
 * filled, hit slots, counters, settings, pins, and refusal of maps with another layout.
 */
import { mkdirSync } from 'fs';
import { join } from 'path';
import { requireRoot } from '../support/require-root';
import { indexGroupsFor, santaAbi, santaMapNames } from '../../sidecar/bpf/abi';
import { cacheEntry, hostOrder, keyFlags, SantaSettings } from '../../sidecar/bpf/codec';
import { CacheEntry, SantaMaps } from '../../sidecar/bpf/maps';
import { LoadedObject, loadNative, SantaNative } from '../../sidecar/bpf/native';
import { Bpffs, buildNativeAndFixtures, FIXTURE_OBJ, mountPrivateBpffs, SANTA_MAPS_OBJ } from './setup';
import { nameOfLength, pointer, rawReply, rr, wireName } from './wire';

const abi = santaAbi();
const TXT = 16;
const flags = keyFlags({ recursionDesired: false, edns: false, dnssecOk: false });
const BULK = 10_000;

let bpf: SantaNative;
let fs: Bpffs | undefined;
let obj: LoadedObject | undefined;
let maps: SantaMaps | undefined;
const toClose: Array<() => void> = [];

function entryFor(name: string, slot: number, text = name, expiresJiffies = BigInt(slot) * 1_000_000_007n): CacheEntry {
  const rdata = Buffer.concat([Buffer.from([Math.min(text.length, 255)]), Buffer.from(text.slice(0, 255), 'latin1')]);
  const reply = rawReply({ flags: 0x8400, qname: name, qtype: TXT, answers: [rr(pointer(12), TXT, 300, rdata)] });
  return cacheEntry({ question: { name, type: 'TXT' }, reply, slot, expiresJiffies, keyFlags: flags });
}

/** The small maps' miss filter: 4 words, 2^8 bits, as the program's shift. */
const SMALL_FILTER_WORDS = 4;
const SMALL_FILTER_SHIFT = 64 - 8;

/** A small set of maps of its own, pinned under `name` (64 entries, 8 index groups, a 256-bit
 * miss filter), and a writer. */
function smallPinnedMaps(name: string): { dir: string; own: LoadedObject; writer: SantaMaps } {
  const dir = join(fs!.dir, name);
  mkdirSync(dir);
  const own = bpf.loadObject(SANTA_MAPS_OBJ, {
    pinMaps: dir,
    mapMaxEntries: { [abi.maps.entries]: 64, [abi.maps.index]: 8, [abi.maps.hits]: 64, [abi.maps.filter]: SMALL_FILTER_WORDS },
  });
  return { dir, own, writer: SantaMaps.fromLoadedObject(own) };
}

function program(): number {
  return obj!.progs[abi.progName];
}

beforeAll(() => {
  requireRoot('SantaMaps tests');
  buildNativeAndFixtures();
  bpf = loadNative();
  fs = mountPrivateBpffs();
  obj = bpf.loadObject(SANTA_MAPS_OBJ, {
    pinMaps: join(fs.dir, 'santa'),
    mapMaxEntries: { [abi.maps.entries]: 2 * BULK, [abi.maps.index]: indexGroupsFor(2 * BULK, abi), [abi.maps.hits]: 2 * BULK },
  });
  maps = SantaMaps.fromLoadedObject(obj);
});

afterAll(() => {
  try {
    maps?.close();
    for (const c of toClose) c();
    if (obj) bpf.closeObject(obj.id);
  } finally {
    fs?.unmount();
  }
});

describe('SantaMaps', () => {
  it('installs names of every length and lists them back decoded', () => {
    const names = [1, 8, 9, 63, 64, 200, abi.limits.NAME_MAX].map((length, i) => nameOfLength(length, 'bcdefgh'[i]));
    const entries = names.map((n, i) => entryFor(n, i + 1));
    expect(maps!.install(entries)).toBe(entries.length);

    const listed = maps!.entries();
    expect(listed.length).toBe(entries.length);
    for (let i = 0; i < entries.length; i++) {
      const found = listed.find((l) => l.key.name.equals(wireName(names[i])));
      expect(found).toBeDefined();
      expect(found!.key.qtype).toBe(TXT);
      expect(found!.value.slot).toBe(i + 1);
      expect(found!.value.expiresJiffies).toBe(BigInt(i + 1) * 1_000_000_007n);
      expect(maps!.lookup(entries[i])).toEqual(found);
    }
    expect(maps!.remove(entries)).toBe(entries.length);
    expect(maps!.entries()).toEqual([]);
    expect(maps!.lookup(entries[2])).toBeNull();
  });

  it('installs, replaces and removes ten thousand entries, ignoring absent keys on removal', () => {
    const entries = Array.from({ length: BULK }, (_, i) => entryFor(`h${i}.example.test`, i));
    expect(maps!.install(entries)).toBe(BULK);
    expect(maps!.entries().length).toBe(BULK);
    // New replies for the same keys: each is written to a fresh entry and published in the
    // key's way, so the map still lists BULK entries, all with the new contents.
    const renewed = entries.map((_, i) => entryFor(`h${i}.example.test`, i, `renewed ${i}`));
    expect(maps!.install(renewed)).toBe(BULK);
    const listed = maps!.entries();
    expect(listed.length).toBe(BULK);
    expect(listed.every((l) => l.value.tail.includes(Buffer.from('renewed')))).toBe(true);

    const half = renewed.filter((_, i) => i % 2 === 0);
    const absent = [entryFor('never.example.test', 0), entryFor(nameOfLength(200), 0)];
    expect(maps!.remove([...half, ...absent])).toBe(half.length);
    expect(maps!.entries().length).toBe(BULK - half.length);
    expect(maps!.remove(renewed)).toBe(BULK - half.length);
  });

  it('renews a lease in place, and reuses a replaced or removed entry only after a grace period', () => {
    // A small cache of its own: 8 entries, one index group of 8 ways.
    const small = bpf.loadObject(SANTA_MAPS_OBJ, { mapMaxEntries: { [abi.maps.entries]: 8, [abi.maps.index]: 1, [abi.maps.hits]: 8 } });
    const m = SantaMaps.fromLoadedObject(small);
    const barriers = jest.spyOn(bpf, 'rcuBarrier');
    try {
      const eight = Array.from({ length: 8 }, (_, i) => entryFor(`r${i}.test`, i, `r${i}`, 100n));
      expect(m.install(eight)).toBe(8);
      // Same replies, later lease: no free entry is needed for that.
      expect(m.install(eight.map((_, i) => entryFor(`r${i}.test`, i, `r${i}`, 200n)))).toBe(8);
      expect(m.entries().map((e) => e.value.expiresJiffies)).toEqual(Array(8).fill(200n));
      expect(barriers).not.toHaveBeenCalled();
      // A new reply needs a free entry: none is free until a retired one has had its grace period.
      const changed = entryFor('r0.test', 0, 'changed', 300n);
      expect(() => m.install([changed])).toThrow(/install: 0 of 1 entries written, then santa_entries is full \(8 entries\)/);
      expect(m.remove([eight[7]])).toBe(1);
      expect(m.install([changed])).toBe(1);
      expect(barriers).toHaveBeenCalledTimes(1);
      expect(m.lookup(changed)?.value.tail.includes(Buffer.from('changed'))).toBe(true);
      // r0's old entry is retired in turn and serves the next key after another grace period.
      expect(m.install([entryFor('ninth.test', 9, 'n', 1n)])).toBe(1);
      expect(barriers).toHaveBeenCalledTimes(2);
      // With eight keys in the only group, a tenth finds no free way.
      let error: (Error & { code?: string; written?: number }) | undefined;
      try {
        m.install([entryFor('tenth.test', 10, 'n', 1n)]);
      } catch (e) {
        error = e as Error & { code?: string; written?: number };
      }
      expect(error?.code).toBe('E2BIG');
      expect(error?.written).toBe(0);
      expect(error?.message).toMatch(/install: 0 of 1 entries written, then no free way for the key in index groups 0 and 0/);
    } finally {
      barriers.mockRestore();
      m.close();
      bpf.closeObject(small.id);
    }
  });

  it('adopts what another handle installed: renewals stay in place, removals work', () => {
    const entries = Array.from({ length: 50 }, (_, i) => entryFor(`a${i}.example.test`, i));
    expect(maps!.install(entries)).toBe(50);
    const pinned = SantaMaps.openPinned(join(fs!.dir, 'santa'));
    try {
      expect(pinned.installedCount).toBe(50);
      expect(pinned.install(entries.map((_, i) => entryFor(`a${i}.example.test`, i, undefined, 42n)))).toBe(50);
      expect(maps!.entries().every((e) => e.value.expiresJiffies === 42n)).toBe(true);
      expect(pinned.remove(entries)).toBe(50);
      expect(maps!.entries()).toEqual([]);
    } finally {
      pinned.close();
    }
  });

  it('closes holes in index groups when it adopts maps (as an earlier version left them) and still finds every key', () => {
    const { dir, own, writer } = smallPinnedMaps('holes');
    const index = bpf.mapMmap(own.maps[abi.maps.index]);
    const { groupSize, ways } = abi.index;
    const waysOf = (g: number) => {
      const b = bpf.mapMemRead(index, g * groupSize, groupSize);
      return Array.from({ length: ways }, (_, w) => b.readBigUInt64LE(w * 8));
    };
    try {
      const entries = Array.from({ length: 24 }, (_, i) => entryFor(`hole${i}.example.test`, i));
      expect(writer.install(entries)).toBe(24);
      // Each group's first entry moved to its last way, leaving a hole in front of the rest.
      let moved = 0;
      for (let g = 0; g < 8; g++) {
        const w = waysOf(g);
        if (w[0] === 0n || w[ways - 1] !== 0n) continue;
        bpf.mapMemStoreU64(index, g * groupSize + (ways - 1) * 8, w[0]);
        bpf.mapMemStoreU64(index, g * groupSize, 0n);
        moved++;
      }
      expect(moved).toBeGreaterThan(0);
      const adopted = SantaMaps.openPinned(dir);
      try {
        for (let g = 0; g < 8; g++) {
          const w = waysOf(g);
          const used = w.filter((x) => x !== 0n).length;
          expect(w.slice(0, used).every((x) => x !== 0n)).toBe(true);
        }
        expect(entries.every((e) => adopted.lookup(e) !== null)).toBe(true);
        // Removals keep the groups compact too.
        expect(adopted.remove(entries.filter((_, i) => i % 3 === 0))).toBe(8);
        for (let g = 0; g < 8; g++) {
          const w = waysOf(g);
          const used = w.filter((x) => x !== 0n).length;
          expect(w.slice(0, used).every((x) => x !== 0n)).toBe(true);
        }
        expect(entries.map((e) => adopted.lookup(e) !== null)).toEqual(entries.map((_, i) => i % 3 !== 0));
      } finally {
        adopted.close();
      }
    } finally {
      bpf.mapMunmap(index);
      writer.close();
      bpf.closeObject(own.id);
    }
  });

  it('keeps a miss-filter bit set while any installed key needs it, and an adopting handle rewrites the filter', () => {
    const { dir, own, writer } = smallPinnedMaps('filter');
    const filterMem = bpf.mapMmap(own.maps[abi.maps.filter]);
    const settingsShift = () => hostOrder.readU32(bpf.lookup(own.maps[abi.maps.settings], Buffer.alloc(4))!, abi.settings.filterShift);
    // Same first 8 name bytes and length: one bit. A name of another length: (here) another.
    const [twin1, twin2, other, stray] = ['shared01.example.test', 'shared02.example.test', 'other.example.test', 'stray.example.test'].map((n, i) => entryFor(n, i + 1));
    const bitOf = (e: CacheEntry) => bpf.keyHash(0, 0, SMALL_FILTER_SHIFT, e.key)[3];
    try {
      // The writer told the program the filter's size, which the loader chose.
      expect(settingsShift()).toBe(SMALL_FILTER_SHIFT);
      expect(bitOf(twin1)).toBe(bitOf(twin2));
      expect(new Set([twin1, other, stray].map(bitOf)).size).toBe(3);
      expect(writer.filterAdmits(twin1)).toBe(false);
      writer.install([twin1]);
      expect([writer.filterAdmits(twin1), writer.filterAdmits(twin2), writer.filterAdmits(other)]).toEqual([true, true, false]);
      writer.install([twin2, other]);
      writer.remove([twin1]);
      expect([writer.filterAdmits(twin2), writer.filterAdmits(other)]).toEqual([true, true]);
      writer.remove([twin2]);
      expect([writer.filterAdmits(twin1), writer.filterAdmits(other)]).toEqual([false, true]);

      // A filter left wrong (cleared, and with a bit nobody needs): adoption makes it right.
      writer.install([twin1]);
      const words = SMALL_FILTER_WORDS;
      for (let w = 0; w < words; w++) bpf.mapMemStoreU64(filterMem, w * 8, 0n);
      const strayWord = (bitOf(stray) >> 6) * 8;
      bpf.mapMemStoreU64(filterMem, strayWord, 1n << BigInt(bitOf(stray) & 63));
      expect([writer.filterAdmits(twin1), writer.filterAdmits(other), writer.filterAdmits(stray)]).toEqual([false, false, true]);
      const adopted = SantaMaps.openPinned(dir);
      try {
        expect([adopted.filterAdmits(twin1), adopted.filterAdmits(other), adopted.filterAdmits(stray)]).toEqual([true, true, false]);
        adopted.remove([twin1, other]);
        expect(bpf.mapMemRead(filterMem, 0, words * 8).equals(Buffer.alloc(words * 8))).toBe(true);
        // A filter size the settings do not match (as after the map was resized) is written
        // for the map's size, with the filter off meanwhile, then switched on.
        adopted.install([twin1]);
        const settings = bpf.lookup(own.maps[abi.maps.settings], Buffer.alloc(4))!;
        hostOrder.writeU32(settings, abi.settings.filterShift, 64 - 18);
        bpf.update(own.maps[abi.maps.settings], Buffer.alloc(4), settings);
        for (let w = 0; w < words; w++) bpf.mapMemStoreU64(filterMem, w * 8, 0n);
        const again = SantaMaps.openPinned(dir);
        try {
          expect(settingsShift()).toBe(SMALL_FILTER_SHIFT);
          expect(again.filterAdmits(twin1)).toBe(true);
        } finally {
          again.close();
        }
      } finally {
        adopted.close();
      }
    } finally {
      bpf.mapMunmap(filterMem);
      writer.close();
      bpf.closeObject(own.id);
    }
  });

  it('reads hit slots and counters summed over CPUs, and zeroes slots', () => {
    const frame = Buffer.alloc(64, 0x42);
    const before = maps!.readStats();
    for (let i = 0; i < 3; i++) bpf.progTestRun(program(), frame);
    // The fixture program counts each packet in PACKETS and in hit slot 0.
    const stats = maps!.readStats();
    expect(Object.keys(stats).sort()).toEqual(Object.keys(abi.counters).sort());
    expect(stats.PACKETS - before.PACKETS).toBe(3);
    const hits0 = maps!.readHits([0])[0];
    expect(hits0).toBeGreaterThanOrEqual(3);
    const many = Array.from({ length: 100 }, (_, i) => i); // the whole-map path
    const all = maps!.readHits(many);
    expect(all[0]).toBe(hits0);
    expect(all.slice(1).every((h) => h === 0)).toBe(true);
    maps!.zeroSlot(0);
    expect(maps!.readHits([0, 1])).toEqual([0, 0]);
    expect(() => maps!.readHits([maps!.capacity(abi.maps.hits)])).toThrow(/outside 0\.\./);
  });

  it('writes and reads settings, keeping the index mask and hash seed it set', () => {
    const raw = () => bpf.lookup(obj!.maps[abi.maps.settings], Buffer.alloc(4))!;
    const indexFields = (b: Buffer) => [b.readUInt32LE(abi.settings.indexMask), b.readUInt32LE(abi.settings.hashSeed)];
    const before = indexFields(raw());
    expect(before[0]).toBe(maps!.capacity(abi.maps.index) - 1);
    const s: SantaSettings = { mode: 'dry-run', maxUdpSize: 1232, ports: [53, 5300], v4Addrs: ['10.53.0.2'], v6Addrs: ['fd53::2'] };
    maps!.writeSettings(s);
    expect(maps!.readSettings()).toEqual(s);
    maps!.writeSettings({ ...s, mode: 'on' });
    expect(maps!.readSettings().mode).toBe('on');
    expect(indexFields(raw())).toEqual(before);
  });

  it('opens the same maps through their pins', () => {
    maps!.install([entryFor('pinned.example.test', 7)]);
    const pinned = SantaMaps.openPinned(join(fs!.dir, 'santa'));
    toClose.push(() => pinned.close());
    expect(pinned.entries().map((e) => e.value.slot)).toEqual([7]);
    expect(pinned.remove([entryFor('pinned.example.test', 7)])).toBe(1);
    expect(maps!.entries()).toEqual([]);
  });

  it('refuses maps whose layout is not this build\'s', () => {
    const other = bpf.loadObject(FIXTURE_OBJ);
    toClose.push(() => bpf.closeObject(other.id));
    expect(() => SantaMaps.fromLoadedObject(other)).toThrow(/has no map santa_entries/);
    // A directory where one Santa map name is pinned to a map of another shape.
    const dir = join(fs!.dir, 'mixed');
    mkdirSync(dir);
    const impostor = abi.maps.index;
    for (const name of santaMapNames(abi)) bpf.pinObject(name === impostor ? other.maps.fx_hash : obj!.maps[name], join(dir, name));
    expect(() => SantaMaps.openPinned(dir)).toThrow(new RegExp(`map ${impostor} \\(id \\d+\\) has 8-byte keys .* expects 4 and ${abi.index.groupSize}`));
  });
});
