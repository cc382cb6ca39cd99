/**
 * The real answer program (xdp/build/santa.bpf.o) driven through the TypeScript layer: its
 * maps must have the layout the codecs use, one entry and the settings must round-trip through
 * them, and a query for that entry must come back (BPF_PROG_TEST_RUN, repeat 1) as exactly the
 * reply the codec describes, with a valid UDP checksum built from csum_const.
 */
import { join } from 'path';
import { requireRoot } from '../support/require-root';
import { santaAbi } from '../../sidecar/bpf/abi';
import { cacheEntry, decodeCacheValue, keyFlags, SantaSettings } from '../../sidecar/bpf/codec';
import { CacheEntry, SantaMaps } from '../../sidecar/bpf/maps';
import { LoadedObject, loadNative, SantaNative } from '../../sidecar/bpf/native';
import { emulateReply } from './emulate';
import { Bpffs, buildNativeAndFixtures, buildSantaObject, mountPrivateBpffs, SANTA_OBJ, XDP_PASS, XDP_TX } from './setup';
import { optRecord, parseUdpFrame, pointer, rawReply, rr, textbookUdpChecksum, u16, udpFrame, wireName } from './wire';

const abi = santaAbi();
const A = 1;
const NS = 2;
const QNAME = 'www.example.test';
const CLIENT = { v4: Buffer.from([10, 53, 0, 1]), v6: Buffer.from('fd530000000000000000000000000001', 'hex'), mac: Buffer.from('02aaaaaaaa01', 'hex') };
const SERVER = { v4: Buffer.from([10, 53, 0, 2]), v6: Buffer.from('fd530000000000000000000000000002', 'hex'), mac: Buffer.from('02bbbbbbbb02', 'hex') };
const SLOT = 17;

let bpf: SantaNative;
let fs: Bpffs | undefined;
let obj: LoadedObject | undefined;
let maps: SantaMaps | undefined;
let pinned: SantaMaps | undefined;

const flags = keyFlags({ recursionDesired: false, edns: true, dnssecOk: false });

/** BIND-shaped reply: answer at the question, the zone's NS, glue, OPT last. */
function reply(): Buffer {
  const tailStart = 12 + wireName(QNAME).length + 4;
  const answer = rr(pointer(12), A, 300, Buffer.from([192, 0, 2, 1]));
  const nsTarget = tailStart + answer.length + 12;
  const authority = rr(pointer(16), NS, 300, Buffer.concat([Buffer.from([3]), Buffer.from('ns1'), pointer(16)]));
  return rawReply({
    flags: 0x8400,
    qname: QNAME,
    answers: [answer],
    authority: [authority],
    additional: [rr(pointer(nsTarget), A, 300, Buffer.from([192, 0, 2, 53])), optRecord(1232, false)],
  });
}

function entry(expiresJiffies: bigint, ipv6 = false): CacheEntry {
  const keyFlags = ipv6 ? flags | abi.keyFlags.V6 : flags;
  return cacheEntry({ question: { name: QNAME, type: 'A' }, reply: reply(), slot: SLOT, expiresJiffies, keyFlags });
}

/** A query for QNAME in 0x20 case with CD set, RD clear, EDNS 1232 without DO. */
function query(id: number): Buffer {
  return Buffer.concat([u16(id), u16(0x0010), u16(1), u16(0), u16(0), u16(1), wireName('wWw.ExAmPlE.tEsT'), u16(A), u16(1), optRecord(1232, false)]);
}

function frame(v6: boolean, payload: Buffer): Buffer {
  return udpFrame({
    srcMac: CLIENT.mac,
    dstMac: SERVER.mac,
    src: v6 ? CLIENT.v6 : CLIENT.v4,
    dst: v6 ? SERVER.v6 : SERVER.v4,
    sport: 40000,
    dport: 53,
    payload,
  });
}

const inAMinute = () => maps!.leaseJiffies(process.hrtime.bigint() + 60_000_000_000n);

beforeAll(() => {
  requireRoot('Santa program tests');
  buildNativeAndFixtures();
  buildSantaObject();
  bpf = loadNative();
  fs = mountPrivateBpffs();
  obj = bpf.loadObject(SANTA_OBJ, { pinMaps: join(fs.dir, 'santa') });
  maps = SantaMaps.fromLoadedObject(obj);
  pinned = SantaMaps.openPinned(join(fs.dir, 'santa'));
});

afterAll(() => {
  try {
    pinned?.close();
    maps?.close();
    if (obj) bpf.closeObject(obj.id);
  } finally {
    fs?.unmount();
  }
});

describe('santa.bpf.o through the TypeScript layer', () => {
  it('defines the program and every map the ABI names', () => {
    expect(Object.keys(obj!.progs)).toContain(abi.progName);
    for (const name of [abi.maps.entries, abi.maps.index, abi.maps.hits, abi.maps.settings, abi.maps.stats]) {
      expect(obj!.maps[name]).toBeDefined();
    }
  });

  it('round-trips the settings through the real map (and its pin)', () => {
    const s: SantaSettings = { mode: 'on', maxUdpSize: 1232, ports: [53], v4Addrs: ['10.53.0.2'], v6Addrs: ['fd53::2'] };
    maps!.writeSettings(s);
    expect(pinned!.readSettings()).toEqual(s);
  });

  it('round-trips one entry through the real map', () => {
    const e = entry(inAMinute());
    maps!.install([e]);
    const listed = pinned!.entries();
    expect(listed.length).toBe(1);
    expect(listed[0].key).toEqual({ name: wireName(QNAME), qtype: A, qclass: 1, flags });
    expect(listed[0].value).toEqual(decodeCacheValue(e.value));
  });

  it.each([
    ['IPv4', false],
    ['IPv6', true],
  ])('answers a %s query for the entry with the codec\'s reply and a valid checksum', (_label, v6) => {
    // Only the entry of the query's own family: BIND orders glue by the client's family.
    maps!.remove([entry(0n, false), entry(0n, true)]);
    maps!.install([entry(inAMinute(), v6)]);
    maps!.zeroSlot(SLOT);
    const q = query(0xbeef);
    const otherFamily = bpf.progTestRun(obj!.progs[abi.progName], frame(!v6, q), { repeat: 1 });
    expect(otherFamily.retval).toBe(XDP_PASS);
    const before = maps!.readStats();
    const run = bpf.progTestRun(obj!.progs[abi.progName], frame(v6, q), { repeat: 1 });
    expect(run.retval).toBe(XDP_TX);

    const out = parseUdpFrame(run.dataOut);
    expect(out.dstMac).toEqual(CLIENT.mac);
    expect(out.srcMac).toEqual(SERVER.mac);
    expect(out.src).toEqual(v6 ? SERVER.v6 : SERVER.v4);
    expect(out.dst).toEqual(v6 ? CLIENT.v6 : CLIENT.v4);
    expect([out.sport, out.dport]).toEqual([53, 40000]);
    expect(out.ipChecksumOk).toBe(true);
    expect(out.payload).toEqual(emulateReply(decodeCacheValue(entry(0n).value), q));
    expect(out.udpChecksum).toBe(textbookUdpChecksum(out.src, out.dst, out.sport, out.dport, out.payload));

    expect(maps!.readHits([SLOT])).toEqual([1]);
    const after = maps!.readStats();
    expect(after.HITS - before.HITS).toBe(1);
    expect(after.PACKETS - before.PACKETS).toBe(1);
  });

  it('passes, unchanged and counted, once the lease ran out or the entry is removed', () => {
    const program = obj!.progs[abi.progName];
    const f = frame(false, query(7));
    maps!.install([entry(1n)]);
    const before = maps!.readStats();
    const expired = bpf.progTestRun(program, f);
    expect(expired.retval).toBe(XDP_PASS);
    expect(expired.dataOut).toEqual(f);
    expect(maps!.readStats().PASS_EXPIRED - before.PASS_EXPIRED).toBe(1);

    expect(maps!.remove([entry(1n)])).toBe(1);
    const missed = bpf.progTestRun(program, f);
    expect(missed.retval).toBe(XDP_PASS);
    expect(missed.dataOut).toEqual(f);
    expect(maps!.readStats().PASS_MISS - before.PASS_MISS).toBe(1);
  });
});
