/**
 * SantaMaps on real kernel maps laid out by santa_abi.h (the santa_maps fixture object, whose
 * program only counts packets): batch install and removal across every tier, listing, hit
 * slots, counters, settings, pins, and refusal of maps with another layout.
 */
import { mkdirSync } from 'fs';
import { join } from 'path';
import { requireRoot } from '../support/require-root';
import { santaAbi, santaMapNames } from '../../sidecar/bpf/abi';
import { cacheEntry, keyFlags, SantaSettings } from '../../sidecar/bpf/codec';
import { CacheEntry, INSTALL_BATCH, SantaMaps } from '../../sidecar/bpf/maps';
import { LoadedObject, loadNative, SantaNative } from '../../sidecar/bpf/native';
import { Bpffs, buildNativeAndFixtures, FIXTURE_OBJ, mountPrivateBpffs, SANTA_MAPS_OBJ } from './setup';
import { nameOfLength, pointer, rawReply, rr, wireName } from './wire';

const abi = santaAbi();
const TXT = 16;
const flags = keyFlags({ recursionDesired: false, edns: false, dnssecOk: false });
const BULK = 10_000; // more than one install batch

let bpf: SantaNative;
let fs: Bpffs | undefined;
let obj: LoadedObject | undefined;
let maps: SantaMaps | undefined;
const toClose: Array<() => void> = [];

function entryFor(name: string, slot: number, text = name): CacheEntry {
  const rdata = Buffer.concat([Buffer.from([Math.min(text.length, 255)]), Buffer.from(text.slice(0, 255), 'latin1')]);
  const reply = rawReply({ flags: 0x8400, qname: name, qtype: TXT, answers: [rr(pointer(12), TXT, 300, rdata)] });
  return cacheEntry({ question: { name, type: 'TXT' }, reply, slot, expiresNs: BigInt(slot) * 1_000_000_007n, keyFlags: flags });
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
    mapMaxEntries: { [abi.tiers[0].mapName]: 2 * BULK, [abi.maps.hits]: 2 * BULK },
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
  it('installs entries in every tier and lists them back decoded', () => {
    const names = abi.tiers.map((t, i) => nameOfLength(Math.min(t.nameSize, abi.limits.NAME_MAX), 'bcde'[i]));
    const entries = names.map((n, i) => entryFor(n, i + 1));
    expect(new Set(entries.map((e) => e.mapName)).size).toBe(abi.tiers.length);
    expect(maps!.install(entries)).toBe(entries.length);

    const listed = maps!.entries();
    expect(listed.length).toBe(entries.length);
    for (let i = 0; i < entries.length; i++) {
      const found = listed.find((l) => l.key.mapName === entries[i].mapName);
      expect(found).toBeDefined();
      expect(found!.key.name).toEqual(wireName(names[i]));
      expect(found!.key.qtype).toBe(TXT);
      expect(found!.value.slot).toBe(i + 1);
      expect(found!.value.expiresNs).toBe(BigInt(i + 1) * 1_000_000_007n);
    }
    expect(maps!.lookup(entries[2])).toEqual(listed.find((l) => l.key.mapName === entries[2].mapName));
    expect(maps!.remove(entries)).toBe(entries.length);
    expect(maps!.entries()).toEqual([]);
    expect(maps!.lookup(entries[2])).toBeNull();
  });

  it('installs and removes ten thousand entries in batches, ignoring absent keys on removal', () => {
    const entries = Array.from({ length: BULK }, (_, i) => entryFor(`h${i}.example.test`, i));
    expect(maps!.install(entries)).toBe(BULK);
    expect(maps!.entries().length).toBe(BULK);
    // Installing again replaces (BPF_ANY): still BULK entries, new contents.
    const renewed = entries.map((_, i) => entryFor(`h${i}.example.test`, i, `renewed ${i}`));
    expect(maps!.install(renewed)).toBe(BULK);
    const listed = maps!.entries();
    expect(listed.length).toBe(BULK);
    expect(listed.every((l) => l.value.tail.includes(Buffer.from('renewed')))).toBe(true);

    const half = entries.filter((_, i) => i % 2 === 0);
    const absent = [entryFor('never.example.test', 0), entryFor(nameOfLength(200), 0)];
    expect(maps!.remove([...half, ...absent])).toBe(half.length);
    expect(maps!.entries().length).toBe(BULK - half.length);
    expect(maps!.remove(entries)).toBe(BULK - half.length);
  });

  it('stores compact values zero-padded, also in staging rows reused by a later batch', () => {
    // Entry 0 (long tail) and entry INSTALL_BATCH (short tail) share a staging row.
    const batch = Array.from({ length: INSTALL_BATCH + 1 }, (_, i) =>
      entryFor(`p${i}.example.test`, i, i === 0 ? 'x'.repeat(200) : i === INSTALL_BATCH ? 'y' : `p${i}`),
    );
    expect(maps!.install(batch)).toBe(batch.length);
    for (const e of [batch[0], batch[INSTALL_BATCH]]) {
      const raw = bpf.lookup(obj!.maps[e.mapName], e.key)!;
      expect(raw.subarray(0, e.value.length)).toEqual(e.value);
      expect(raw.subarray(e.value.length).every((b) => b === 0)).toBe(true);
    }
    expect(maps!.remove(batch)).toBe(batch.length);
  });

  it('says how far an install got when a map fills up', () => {
    const capacity = maps!.capacity(abi.tiers[1].mapName);
    const names = Array.from({ length: capacity + 5 }, (_, i) => `${'m'.repeat(40)}.n${i}.example.test`);
    const tooMany = names.map((n, i) => entryFor(n, i));
    expect(new Set(tooMany.map((e) => e.mapName))).toEqual(new Set([abi.tiers[1].mapName]));
    let error: (Error & { code?: string; written?: number }) | undefined;
    try {
      maps!.install(tooMany);
    } catch (e) {
      error = e as Error & { code?: string; written?: number };
    }
    expect(error?.code).toBe('E2BIG');
    expect(error?.written).toBe(capacity);
    expect(error?.message).toMatch(new RegExp(`install: ${capacity} of ${capacity + 5} entries written, then .*${abi.tiers[1].mapName} is full: max_entries ${capacity}`));
    expect(maps!.remove(tooMany)).toBe(capacity);
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

  it('writes and reads settings', () => {
    const s: SantaSettings = { mode: 'dry-run', maxUdpSize: 1232, ports: [53, 5300], v4Addrs: ['10.53.0.2'], v6Addrs: ['fd53::2'] };
    maps!.writeSettings(s);
    expect(maps!.readSettings()).toEqual(s);
    maps!.writeSettings({ ...s, mode: 'on' });
    expect(maps!.readSettings().mode).toBe('on');
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
    expect(() => SantaMaps.fromLoadedObject(other)).toThrow(/has no map santa_cache_32/);
    // A directory where one Santa map name is pinned to a map of another shape.
    const dir = join(fs!.dir, 'mixed');
    mkdirSync(dir);
    const impostor = abi.tiers[1];
    for (const name of santaMapNames(abi)) bpf.pinObject(name === impostor.mapName ? other.maps.fx_hash : obj!.maps[name], join(dir, name));
    expect(() => SantaMaps.openPinned(dir)).toThrow(
      new RegExp(`map ${impostor.mapName} \\(id \\d+\\) has 8-byte keys .* expects ${impostor.keySize} and ${abi.value.size}`),
    );
  });
});
