/**
 * Drives the real santa_xdp program through BPF_PROG_TEST_RUN: loads xdp/build/santa.bpf.o
 * with the native binding, installs entries built by the sidecar's codecs from dns-packet
 * responses, and runs one frame at a time (repeat = 1: the program rewrites its buffer).
 */
import * as dnsPacket from 'dns-packet';
import { cacheEntry, keyFlags, SantaSettings, writeZoneStamp, type ZoneStamp } from '../../sidecar/bpf/codec';
import { SantaMaps } from '../../sidecar/bpf/maps';
import { LoadedObject, loadNative, SantaNative } from '../../sidecar/bpf/native';
import { filterWordsFor, indexGroupsFor, santaAbi } from '../../sidecar/bpf/abi';
import { buildNativeAndFixtures, buildSantaObject, SANTA_OBJ, XDP_PASS, XDP_TX } from '../bpf/setup';

export { XDP_PASS, XDP_TX };
export const XDP_ABORTED = 0;

export const DEFAULT_SETTINGS: SantaSettings = { mode: 'on', maxUdpSize: 0, ports: [], v4Addrs: [], v6Addrs: [] };

export interface EntrySpec {
  name: string;
  type?: string;
  rd?: boolean;
  edns?: boolean;
  dnssecOk?: boolean;
  answers: dnsPacket.Answer[];
  authorities?: dnsPacket.Answer[];
  additionals?: dnsPacket.Answer[];
  rcode?: number;
  slot: number;
  /** Lease length from now; negative for an entry that has already expired. */
  leaseMs?: number;
  /** Client address families the entry is keyed for (SANTA_KEY_V6); default both. */
  families?: Array<'v4' | 'v6'>;
  /** The zone change guard's stamp (santa_abi.h); default slot 0, generation 0. */
  zone?: ZoneStamp;
}

export interface RunResult {
  retval: number;
  out: Buffer;
  /** Counter name -> how much this run moved it. */
  moved: Record<string, number>;
}

/** The kernel's monotonic clock, which bpf_ktime_get_ns reads (libuv's hrtime uses it too). */
export function monotonicNs(): bigint {
  return process.hrtime.bigint();
}

/** The response BIND would send for `e`, encoded by dns-packet (ID 0: the program keeps the query's). */
export function responseFor(e: EntrySpec): Buffer {
  const flags =
    dnsPacket.AUTHORITATIVE_ANSWER | (e.rd ? dnsPacket.RECURSION_DESIRED : 0) | ((e.rcode ?? 0) & 0xf);
  const additionals = [...(e.additionals ?? [])];
  if (e.edns) {
    additionals.push({
      type: 'OPT',
      name: '.',
      udpPayloadSize: 1232,
      flags: e.dnssecOk ? dnsPacket.DNSSEC_OK : 0,
    } as dnsPacket.Answer);
  }
  return dnsPacket.encode({
    type: 'response',
    id: 0,
    flags,
    questions: [{ name: e.name, type: (e.type ?? 'A') as dnsPacket.RecordType, class: 'IN' }],
    answers: e.answers,
    authorities: e.authorities ?? [],
    additionals,
  });
}

export class SantaUnderTest {
  readonly bpf: SantaNative;
  readonly obj: LoadedObject;
  readonly maps: SantaMaps;
  readonly progFd: number;

  private constructor(filterWords: number) {
    this.bpf = loadNative();
    const abi = santaAbi();
    this.obj = this.bpf.loadObject(SANTA_OBJ, {
      // Small maps: the tests need a handful of entries, not 64k preallocated slots.
      mapMaxEntries: { [abi.maps.hits]: 1024, [abi.maps.entries]: 1024, [abi.maps.index]: indexGroupsFor(1024, abi), [abi.maps.filter]: filterWords },
    });
    const fd = this.obj.progs[santaAbi().progName];
    if (fd === undefined) throw new Error(`${SANTA_OBJ} has no program ${santaAbi().progName}`);
    this.progFd = fd;
    this.maps = SantaMaps.fromLoadedObject(this.obj, this.bpf);
    this.maps.writeSettings(DEFAULT_SETTINGS);
  }

  /** Builds the binding and the program (make is incremental) and loads a fresh instance, with a
   * miss filter of `filterWords` words (the loader's choice for 1024 entries by default). */
  static load(opts: { filterWords?: number } = {}): SantaUnderTest {
    buildNativeAndFixtures();
    buildSantaObject();
    return new SantaUnderTest(opts.filterWords ?? filterWordsFor(1024, santaAbi()));
  }

  close(): void {
    this.maps.close();
    this.bpf.closeObject(this.obj.id);
  }

  settings(s: Partial<SantaSettings>): void {
    this.maps.writeSettings({ ...DEFAULT_SETTINGS, ...s });
  }

  /** Installs the entry under the key its spec describes; returns the response it was built from. */
  install(e: EntrySpec): Buffer {
    const reply = responseFor(e);
    const expiresNs = monotonicNs() + BigInt(Math.round((e.leaseMs ?? 60_000) * 1e6));
    // One key per client family, sharing the slot: these replies carry no glue whose order
    // would differ by family.
    const entries = (e.families ?? ['v4', 'v6']).map((family) =>
      cacheEntry({
        question: { name: e.name, type: e.type ?? 'A' },
        reply,
        slot: e.slot,
        expiresJiffies: this.maps.leaseJiffies(expiresNs),
        keyFlags: keyFlags({ recursionDesired: !!e.rd, edns: !!e.edns, dnssecOk: !!e.dnssecOk, ipv6: family === 'v6' }),
      }),
    );
    if (e.zone) for (const entry of entries) writeZoneStamp(entry.value, e.zone);
    this.maps.zeroSlot(e.slot);
    this.maps.install(entries);
    return reply;
  }

  /** Installs a complete response as given (e.g. a hand-built one with compression pointers). */
  installReply(question: { name: string; type: string }, reply: Buffer, bits: { rd?: boolean; edns?: boolean; dnssecOk?: boolean }, slot: number): void {
    const entries = [false, true].map((ipv6) =>
      cacheEntry({
        question,
        reply,
        slot,
        expiresJiffies: this.maps.leaseJiffies(monotonicNs() + 60_000_000_000n),
        keyFlags: keyFlags({ recursionDesired: !!bits.rd, edns: !!bits.edns, dnssecOk: !!bits.dnssecOk, ipv6 }),
      }),
    );
    this.maps.zeroSlot(slot);
    this.maps.install(entries);
  }

  hits(slot: number): number {
    return this.maps.readHits([slot])[0];
  }

  /** One run of the program on a copy of `frame`, with the counters it moved. */
  run(frame: Buffer): RunResult {
    return this.runProgram(this.progFd, frame);
  }

  /** The same for the object's loopback guard (a tc program: retval is a TC_ACT_* value). */
  runLoopbackGuard(frame: Buffer): RunResult {
    const fd = this.obj.progs[santaAbi().loopbackGuard.progName];
    if (fd === undefined) throw new Error(`${SANTA_OBJ} has no program ${santaAbi().loopbackGuard.progName}`);
    return this.runProgram(fd, frame);
  }

  private runProgram(fd: number, frame: Buffer): RunResult {
    const before = this.maps.readStats();
    const r = this.bpf.progTestRun(fd, Buffer.from(frame), { repeat: 1 });
    const after = this.maps.readStats();
    const moved: Record<string, number> = {};
    for (const [name, value] of Object.entries(after)) {
      if (value !== before[name]) moved[name] = value - before[name];
    }
    return { retval: r.retval, out: r.dataOut, moved };
  }
}
