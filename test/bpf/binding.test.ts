/**
 * The native binding on the real kernel: loading (and failing to load), pins, every map
 * operation on real maps, per-CPU reads, BPF_PROG_TEST_RUN and run-time statistics.
 * Runs as root; fails (never skips) when BPF is unavailable.
 */
import { existsSync } from 'fs';
import { join } from 'path';
import { requireRoot } from '../support/require-root';
import { createTopology } from '../support/netns';
import { isBpfError, LoadedObject, loadNative, SantaNative } from '../../sidecar/bpf/native';
import {
  Bpffs,
  buildNativeAndFixtures,
  FIXTURE_OBJ,
  INVALID_OBJ,
  mountPrivateBpffs,
  SANTA_MAPS_OBJ,
  readU64,
  u32Key,
  u64,
  XDP_PASS,
  XDP_TX,
} from './setup';

const VALUE_SIZE = 16; // struct fx_value in fixtures/fixture.bpf.c

let bpf: SantaNative;
let fs: Bpffs | undefined;
const objects: LoadedObject[] = [];
const fds: number[] = [];

function load(opts?: Parameters<SantaNative['loadObject']>[1]): LoadedObject {
  const obj = bpf.loadObject(FIXTURE_OBJ, opts);
  objects.push(obj);
  return obj;
}

function close(obj: LoadedObject): void {
  bpf.closeObject(obj.id);
  objects.splice(objects.indexOf(obj), 1);
}

function value(a: number, b: number, c: number): Buffer {
  const v = Buffer.alloc(VALUE_SIZE);
  v.set(u64(a), 0);
  v.writeUInt32LE(b, 8);
  v.writeUInt32LE(c, 12);
  return v;
}

/** Catches what `fn` throws and checks it is a BpfError. */
function bpfErrorOf(fn: () => unknown) {
  try {
    fn();
  } catch (e) {
    if (!isBpfError(e)) throw new Error(`expected a BpfError, got ${String(e)}`);
    return e;
  }
  throw new Error('expected the call to throw');
}

beforeAll(() => {
  requireRoot('native binding tests');
  buildNativeAndFixtures();
  bpf = loadNative();
  fs = mountPrivateBpffs();
});

afterAll(() => {
  for (const obj of [...objects]) bpf.closeObject(obj.id);
  for (const fd of fds) bpf.closeFd(fd);
  fs?.unmount();
});

describe('loadObject', () => {
  it('returns the fds of every program and map, which the kernel describes', () => {
    const obj = load();
    expect(Object.keys(obj.progs).sort()).toEqual(['fx_pass', 'fx_tc_pass', 'fx_xdp']);
    expect(Object.keys(obj.maps).sort()).toEqual(['fx_array', 'fx_hash', 'fx_percpu']);
    const hash = bpf.mapInfo(obj.maps.fx_hash);
    expect(hash).toMatchObject({ name: 'fx_hash', typeName: 'hash', keySize: 8, valueSize: VALUE_SIZE, maxEntries: 1024 });
    const prog = bpf.progInfo(obj.progs.fx_xdp);
    expect(prog).toMatchObject({ name: 'fx_xdp', typeName: 'xdp' });
    expect(prog.tag).toMatch(/^[0-9a-f]{16}$/);
    const mapIds = [bpf.mapInfo(obj.maps.fx_percpu).id, bpf.mapInfo(obj.maps.fx_array).id].sort();
    expect([...prog.mapIds].sort()).toEqual(mapIds);
    close(obj);
    // The object's fds are closed with it.
    // Recent kernels say EBADFD for a closed fd in bpf(), older ones EBADF.
    expect(bpfErrorOf(() => bpf.mapInfo(obj.maps.fx_hash)).code).toMatch(/^EBADFD?$/);
  });

  it('applies mapMaxEntries and names a map the object lacks', () => {
    const obj = load({ mapMaxEntries: { fx_hash: 5000 } });
    expect(bpf.mapInfo(obj.maps.fx_hash).maxEntries).toBe(5000);
    close(obj);
    const e = bpfErrorOf(() => bpf.loadObject(FIXTURE_OBJ, { mapMaxEntries: { no_such_map: 1 } }));
    expect(e.code).toBe('ENOENT');
    expect(e.message).toMatch(/no_such_map/);
  });

  it('returns the verifier logs of a successful load when asked for them', () => {
    const quiet = load();
    expect(quiet.verifierLogs).toBeUndefined();
    close(quiet);
    const verbose = load({ logLevel: 2 });
    expect(Object.keys(verbose.verifierLogs!).sort()).toEqual(['fx_pass', 'fx_tc_pass', 'fx_xdp']);
    expect(verbose.verifierLogs!.fx_xdp).toMatch(/processed \d+ insns/);
    close(verbose);
  });

  it('throws ENOENT naming a missing file', () => {
    const e = bpfErrorOf(() => bpf.loadObject('/nonexistent/santa.bpf.o'));
    expect(e.code).toBe('ENOENT');
    expect(e.errno).toBe(2);
    expect(e.message).toMatch(/\/nonexistent\/santa\.bpf\.o/);
    const notElf = bpfErrorOf(() => bpf.loadObject(__filename));
    expect(notElf.code).toBe('LIBBPF_ERRNO__FORMAT');
    expect(notElf.libbpfLog).toMatch(/not a proper ELF object/);
  });

  it('carries the verifier log when the kernel rejects a program', () => {
    const e = bpfErrorOf(() => bpf.loadObject(INVALID_OBJ));
    expect(e.code).toBe('EACCES');
    expect(e.message).toMatch(/loadObject: load .*invalid\.bpf\.o: prog 'fx_unchecked': BPF program load failed/);
    expect(e.verifierLog).toMatch(/-- program fx_unchecked --/);
    expect(e.verifierLog).toMatch(/invalid access to packet/);
    expect(e.libbpfLog).toMatch(/fx_unchecked/);
  });
});

describe('pins', () => {
  it('pins maps on load, reuses them on the next load, and opens them with objGet', () => {
    const dir = join(fs!.dir, 'reuse');
    const first = load({ pinMaps: dir });
    for (const name of ['fx_hash', 'fx_percpu', 'fx_array']) expect(existsSync(join(dir, name))).toBe(true);
    bpf.update(first.maps.fx_hash, u64(7), value(70, 7, 0));
    const id = bpf.mapInfo(first.maps.fx_hash).id;
    close(first);

    const second = load({ pinMaps: dir });
    expect(bpf.mapInfo(second.maps.fx_hash).id).toBe(id);
    expect(bpf.lookup(second.maps.fx_hash, u64(7))).toEqual(value(70, 7, 0));
    close(second);

    const fd = bpf.objGet(join(dir, 'fx_hash'));
    fds.push(fd);
    expect(bpf.mapInfo(fd).id).toBe(id);
    expect(bpf.lookup(fd, u64(7))).toEqual(value(70, 7, 0));
  });

  it('refuses to reuse a pinned map whose definition changed, and says why', () => {
    const dir = join(fs!.dir, 'changed');
    close(load({ pinMaps: dir }));
    const e = bpfErrorOf(() => bpf.loadObject(FIXTURE_OBJ, { pinMaps: dir, mapMaxEntries: { fx_hash: 2048 } }));
    expect(e.code).toBe('EINVAL');
    expect(e.message).toMatch(/couldn't reuse pinned map at '.*\/changed\/fx_hash': parameter mismatch/);
    expect(e.libbpfLog).toMatch(/fx_hash/);
  });

  it('pins a program and finds it again by pin and by id', () => {
    const obj = load();
    const path = join(fs!.dir, 'fx_xdp_prog');
    bpf.pinObject(obj.progs.fx_xdp, path);
    const id = bpf.progInfo(obj.progs.fx_xdp).id;
    close(obj);
    const byPin = bpf.objGet(path);
    fds.push(byPin);
    expect(bpf.progInfo(byPin).id).toBe(id);
    const byId = bpf.progGetFdById(id);
    fds.push(byId);
    expect(bpf.progInfo(byId).name).toBe('fx_xdp');
    expect(bpfErrorOf(() => bpf.pinObject(byPin, path)).code).toBe('EEXIST');
    expect(bpfErrorOf(() => bpf.objGet(join(fs!.dir, 'absent'))).code).toBe('ENOENT');
  });
});

describe('maps', () => {
  let obj: LoadedObject;
  beforeAll(() => {
    obj = load({ mapMaxEntries: { fx_hash: 4096 } });
  });

  it('updates, looks up and deletes single elements', () => {
    const fd = obj.maps.fx_hash;
    expect(bpf.lookup(fd, u64(1))).toBeNull();
    bpf.update(fd, u64(1), value(1, 2, 3));
    expect(bpf.lookup(fd, u64(1))).toEqual(value(1, 2, 3));
    expect(bpfErrorOf(() => bpf.update(fd, u64(1), value(0, 0, 0), bpf.updateFlags.NOEXIST)).code).toBe('EEXIST');
    expect(bpf.delete(fd, u64(1))).toBe(true);
    expect(bpf.delete(fd, u64(1))).toBe(false);
  });

  it('writes, lists and deletes thousands of elements in batches', () => {
    const fd = obj.maps.fx_hash;
    const n = 3000; // several lookupBatch rounds
    const keys = Buffer.concat(Array.from({ length: n }, (_, i) => u64(i + 100)));
    const values = Buffer.concat(Array.from({ length: n }, (_, i) => value(i, i * 2, i * 3)));
    expect(bpf.updateBatch(fd, keys, values, n)).toBe(n);

    const all = bpf.lookupBatch(fd);
    expect(all.count).toBe(n);
    const seen = new Map<bigint, Buffer>();
    for (let i = 0; i < all.count; i++) seen.set(readU64(all.keys, 8 * i), all.values.subarray(i * VALUE_SIZE, (i + 1) * VALUE_SIZE));
    for (let i = 0; i < n; i++) expect(seen.get(BigInt(i + 100))).toEqual(value(i, i * 2, i * 3));
    expect(bpf.keys(fd).length).toBe(n);

    // Every other key, plus keys that were never there: only present ones count.
    const doomed = [...Array.from({ length: n / 2 }, (_, i) => u64(100 + 2 * i)), u64(1), u64(2)];
    doomed.splice(10, 0, u64(99999));
    expect(bpf.deleteBatch(fd, Buffer.concat(doomed), doomed.length)).toBe(n / 2);
    expect(bpf.lookupBatch(fd).count).toBe(n / 2);
    expect(bpf.lookup(fd, u64(100))).toBeNull();
    expect(bpf.lookup(fd, u64(101))).toEqual(value(1, 2, 3));
    expect(bpf.deleteBatch(fd, Buffer.concat(doomed), doomed.length)).toBe(0);
  });

  it('reports how far a failing batch got', () => {
    const fd = obj.maps.fx_hash;
    bpf.update(fd, u64(5000), value(0, 0, 0));
    const keys = Buffer.concat([u64(4998), u64(4999), u64(5000), u64(5001)]);
    const e = bpfErrorOf(() => bpf.updateBatch(fd, keys, Buffer.alloc(4 * VALUE_SIZE), 4, bpf.updateFlags.NOEXIST));
    expect(e.code).toBe('EEXIST');
    expect(e.done).toBe(2);
    expect(e.message).toMatch(/updateBatch on map fx_hash .*after 2 of 4 entries/);
  });

  it('checks key and value sizes against the map before the kernel sees them', () => {
    const e = bpfErrorOf(() => bpf.update(obj.maps.fx_hash, Buffer.alloc(4), value(0, 0, 0)));
    expect(e.code).toBe('EINVAL');
    expect(e.message).toMatch(/update on map fx_hash .*key is 4 bytes, the map expects 8/);
    const b = bpfErrorOf(() => bpf.updateBatch(obj.maps.fx_hash, Buffer.alloc(16), Buffer.alloc(16), 2));
    expect(b.message).toMatch(/values is 16 bytes, the map expects 32/);
    expect(bpfErrorOf(() => bpf.lookup(987654, u64(0))).code).toMatch(/^EBADFD?$/);
  });

  it('reads per-CPU values for every possible CPU, padded to 8 bytes', () => {
    const cpus = bpf.numPossibleCpus();
    expect(cpus).toBeGreaterThanOrEqual(1);
    const fd = obj.maps.fx_percpu;
    const perCpu = Buffer.concat(Array.from({ length: cpus }, (_, c) => u64(10 + c)));
    bpf.update(fd, u32Key(3), perCpu);
    expect(bpf.lookup(fd, u32Key(3))).toEqual(perCpu);
    const all = bpf.lookupBatch(fd);
    expect(all.count).toBe(4);
    expect(all.values.length).toBe(4 * 8 * cpus);
    // Arrays have no delete: the fallback reports the kernel's refusal.
    expect(bpfErrorOf(() => bpf.deleteBatch(fd, u32Key(0), 1)).code).toBe('EINVAL');
    expect(bpfErrorOf(() => bpf.update(fd, u32Key(0), u64(1))).message).toMatch(new RegExp(`value is 8 bytes, the map expects ${8 * cpus}`));
  });
});

describe('progTestRun and statistics', () => {
  let obj: LoadedObject;
  beforeAll(() => {
    obj = load();
  });

  const frame = (first: number) => Buffer.concat([Buffer.from([first]), Buffer.alloc(59, 0x11)]);
  /** fx_percpu[slot] summed over every CPU. */
  const sum = (slot: number) => {
    const v = bpf.lookup(obj.maps.fx_percpu, u32Key(slot))!;
    let total = 0n;
    for (let off = 0; off < v.length; off += 8) total += readU64(v, off);
    return total;
  };

  it('runs the program on a frame and returns its verdict and output', () => {
    const tx = bpf.progTestRun(obj.progs.fx_xdp, frame(0xaa));
    expect(tx.retval).toBe(XDP_TX);
    expect(tx.dataOut).toEqual(Buffer.concat([Buffer.from([0xbb]), Buffer.alloc(59, 0x11)]));
    bpf.update(obj.maps.fx_array, u32Key(0), u32Key(0xcc));
    expect(bpf.progTestRun(obj.progs.fx_xdp, frame(0xaa)).dataOut[0]).toBe(0xcc);
    const pass = bpf.progTestRun(obj.progs.fx_xdp, frame(0x01));
    expect(pass.retval).toBe(XDP_PASS);
    expect(pass.dataOut).toEqual(frame(0x01));
  });

  it('counts runs in per-CPU counters that sum to the number of runs', () => {
    const seen0 = sum(0);
    const rewritten0 = sum(1);
    for (let i = 0; i < 5; i++) bpf.progTestRun(obj.progs.fx_xdp, frame(i % 2 ? 0xaa : 0x00));
    bpf.progTestRun(obj.progs.fx_xdp, frame(0x00), { repeat: 10 });
    expect(sum(0) - seen0).toBe(15n);
    expect(sum(1) - rewritten0).toBe(2n);
  });

  it('reports run time and count while statistics are enabled', () => {
    const stats = bpf.enableStats();
    fds.push(stats);
    const before = bpf.progInfo(obj.progs.fx_xdp);
    const r = bpf.progTestRun(obj.progs.fx_xdp, frame(0x00), { repeat: 1000 });
    expect(r.durationNs).toBeGreaterThan(0);
    const after = bpf.progInfo(obj.progs.fx_xdp);
    expect(after.runCnt - before.runCnt).toBe(1000);
    expect(after.runTimeNs).toBeGreaterThan(before.runTimeNs);
  });

  it('runs live frames only in a namespace it is given, keeping the bytes a run left on its page', async () => {
    // Live frames enter a stack (XDP_PASS) and leave by a loopback (XDP_TX): never the host's.
    expect(bpfErrorOf(() => bpf.progTestRun(obj.progs.fx_xdp, frame(0xaa), { liveFrames: 1 })).message).toMatch(/netnsPath is required/);
    expect(bpfErrorOf(() => bpf.progTestRun(obj.progs.fx_xdp, frame(0xaa), { netnsPath: '/proc/self/ns/net' })).code).toBe('EINVAL');
    const topo = await createTopology();
    try {
      const seen0 = sum(0);
      const rewritten0 = sum(1);
      const runs = 10_000;
      bpf.progTestRun(obj.progs.fx_xdp, frame(0xaa), { repeat: runs, liveFrames: 1, netnsPath: topo.server.nsPath });
      expect(sum(0) - seen0).toBe(BigInt(runs));
      // fx_xdp rewrites 0xAA to 0xBB: a page's later runs see 0xBB and pass, so far fewer runs
      // than all rewrite (the pool holds a few dozen pages). What replay.bpf.c exists for.
      const rewritten = sum(1) - rewritten0;
      expect(rewritten).toBeGreaterThan(0n);
      expect(rewritten).toBeLessThan(BigInt(runs / 10));
    } finally {
      await topo.destroy();
    }
  });

  it('fails with the errno of a bad test run', () => {
    const e = bpfErrorOf(() => bpf.progTestRun(obj.progs.fx_xdp, Buffer.alloc(4)));
    expect(e.code).toBe('EINVAL'); // shorter than an Ethernet header
    expect(e.message).toMatch(/progTestRun: program fd \d+ with 4 bytes in/);
  });
});

describe('mapped arrays', () => {
  it('reads into a caller buffer what was written, and refuses a range past the end', () => {
    const obj = bpf.loadObject(SANTA_MAPS_OBJ, { mapMaxEntries: { santa_entries: 4, santa_index: 2, santa_hits: 4 } });
    objects.push(obj);
    const mem = bpf.mapMmap(obj.maps.santa_entries);
    try {
      const size = bpf.mapInfo(obj.maps.santa_entries).valueSize * 4;
      const written = Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 7 + 1) & 255));
      bpf.mapMemWrite(mem, size - written.length, written);
      const target = Buffer.alloc(written.length);
      bpf.mapMemReadInto(mem, size - written.length, target);
      expect(target.equals(written)).toBe(true);
      expect(target.equals(bpf.mapMemRead(mem, size - written.length, written.length))).toBe(true);
      // The mapping is whole pages; well past them the binding refuses before touching memory.
      expect(() => bpf.mapMemReadInto(mem, size * 100, target)).toThrow(/mapMemReadInto: 300 bytes at offset \d+ are outside/);
    } finally {
      bpf.mapMunmap(mem);
    }
  });
});
