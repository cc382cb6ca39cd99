/**
 * The native binding (xdp/binding/santa_native.c, built by `make -C xdp`) and its types.
 *
 * Everything BPF passes through here: loading objects, XDP attachment, pins, map reads and
 * writes, test runs, and the ABI of santa_abi.h as the C compiler laid it out. Calls are
 * synchronous (each is a handful of syscalls). Failures throw a BpfError: `code` is the errno
 * name, `errno` its number, and the message names the operation and the map or program.
 */
import { existsSync } from 'fs';
import { resolve } from 'path';

export type XdpMode = 'native' | 'generic' | 'offload';

export interface LoadOptions {
  /** Overrides max_entries of the named maps before they are created. */
  mapMaxEntries?: Record<string, number>;
  /** bpffs directory: maps already pinned there (and compatible) are reused, new ones pinned. */
  pinMaps?: string;
  /** Verifier log level for every program; on failure level 1 is used regardless. */
  logLevel?: number;
}

export interface LoadedObject {
  /** Handle for closeObject. */
  id: number;
  /** Program name -> fd (owned by the object). */
  progs: Record<string, number>;
  /** Map name -> fd (owned by the object); internal maps (.rodata, .bss) are left out. */
  maps: Record<string, number>;
  /** Program name -> verifier log, only when loaded with logLevel > 0. */
  verifierLogs?: Record<string, string>;
}

export interface XdpAttachOptions {
  replace?: boolean;
  expectedProgFd?: number;
}

export interface XdpAttachment {
  /** The program in `mode`; in 'multi' mode, the kernel's choice among them. */
  progId: number;
  mode: XdpMode | 'multi';
  nativeProgId: number;
  genericProgId: number;
  offloadProgId: number;
}

export interface ProgInfo {
  id: number;
  name: string;
  type: number;
  typeName: string;
  tag: string;
  /** Totals since enableStats() was first held open; exact below 2^53. */
  runTimeNs: number;
  runCnt: number;
  mapIds: number[];
}

export interface MapInfo {
  id: number;
  name: string;
  type: number;
  typeName: string;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
}

export interface TestRunOptions {
  /** Runs of the program on the same buffer (which it may have rewritten): use 1 for results. */
  repeat?: number;
  /** Room for the output frame; defaults to the input length plus 4 KiB. */
  dataSizeOut?: number;
  /**
   * 1: BPF_F_TEST_XDP_LIVE_FRAMES, runs as a driver would, on page-pool frames (no dataOut,
   * retval 0). XDP_PASS frames enter netnsPath's stack and XDP_TX ones leave through its
   * loopback (dropped there). Each run starts from the frame's original start and end, but with
   * the bytes the page's last run left: a program that rewrites its frame sees its own output.
   */
  liveFrames?: number;
  /** Required with liveFrames: a network namespace the caller made for the frames. */
  netnsPath?: string;
}

export interface TestRunResult {
  retval: number;
  /** Absent with liveFrames. */
  dataOut: Buffer;
  /** The kernel's mean time per repetition. */
  durationNs: number;
}

export interface BatchLookup {
  /** `count` keys back to back. */
  keys: Buffer;
  /** `count` values back to back (all CPUs' for per-CPU maps). */
  values: Buffer;
  count: number;
}

/** Layout of santa_abi.h, computed by the C compiler (offsets and sizes in bytes). */
export interface NativeAbi {
  limits: {
    NAME_MAX: number;
    REPLY_MAX: number;
    TAIL_MAX: number;
    MAX_PORTS: number;
    MAX_ADDRS: number;
    NAME_BUF: number;
    ENTRIES_DEFAULT: number;
    INDEX_GROUPS_DEFAULT: number;
    REUSE_DELAY_MS: number;
  };
  keyFlags: { RD: number; EDNS: number; DO: number; V6: number };
  keyHeader: { size: number; qtype: number; qclass: number; flags: number; nameLen: number; pad: number };
  /** struct santa_key: the header, then the zero-padded name. */
  key: { size: number; name: number };
  /** struct santa_entry: key and value, one element of santa_entries. */
  entry: { size: number; key: number; value: number };
  /** santa_index: groups of `ways` 8-byte ways. */
  index: { ways: number; groupSize: number; idBits: number };
  /** santa_filter, the miss filter: 64-bit words, a power of two of them. */
  filter: { wordsDefault: number; wordsMax: number };
  value: {
    size: number;
    expiresJiffies: number;
    slot: number;
    tailLen: number;
    csumConst: number;
    hdr: number;
    hdrSize: number;
    rrlKind: number;
    pad: number;
    rrlId: number;
    /** The zone change guard: the entry's zone slot in santa_zone_gens and its generation. */
    zoneSlot: number;
    zoneGen: number;
    tail: number;
  };
  settings: {
    size: number;
    mode: number;
    indexMask: number;
    hashSeed: number;
    filterShift: number;
    maxUdpSize: number;
    nPorts: number;
    nV4: number;
    ports: number;
    v4Addrs: number;
    nV6: number;
    v6Addrs: number;
    cookieOn: number;
    cookieRequireServer: number;
    cookieSecret: number;
    cookieSecretSize: number;
    clockOffsetNs: number;
    nocookieUdpSize: number;
    nBlackholeV4: number;
    nBlackholeV6: number;
    blackholeV4: number;
    blackholeV6: number;
    maxBlackhole: number;
  };
  /** struct santa_prefix: an element of an address match list. */
  prefix: { size: number; addr: number; mask: number; negated: number };
  modes: { OFF: number; DRY_RUN: number; ON: number };
  /** Counter name (SANTA_CNT_ without the prefix) -> index. */
  counters: Record<string, number>;
  stats: { size: number; counterCount: number; counterSize: number };
  hits: { valueSize: number };
  maps: {
    entries: string;
    index: string;
    hits: string;
    settings: string;
    stats: string;
    filter: string;
    zoneGens: string;
  };
  /** santa_zone_gens, the zone change guard: a u32 generation per zone slot; a zone's slot is
   * the key hash of (apex, SOA, IN) with no query bits, masked to `slots`. */
  zoneGens: { slots: number; soaType: number; inClass: number };
  /** Response rate limiting (santa_abi.h, RRL section). */
  rrl: {
    kinds: { RESPONSE: number; NXDOMAIN: number; NODATA: number; REFERRAL: number; ERROR: number; ALL: number; COUNT: number };
    config: {
      size: number;
      on: number;
      logOnly: number;
      slip: number;
      nExemptV4: number;
      nExemptV6: number;
      hz: number;
      window: number;
      rate: number;
      allRate: number;
      v4Mask: number;
      v6Mask: number;
      exemptV4: number;
      exemptV6: number;
      maxExempt: number;
    };
    key: { size: number; addr: number; id: number; kind: number; family: number };
    bucket: { size: number; balance: number; ts: number; slipCnt: number };
    maps: { config: string; buckets: string };
  };
  progName: string;
  /** The zone change guard on the loopback device: a tc ingress program in the same object,
   * and the filter slot (handle, priority) it takes. */
  loopbackGuard: { progName: string; tcHandle: number; tcPriority: number };
  /** struct santa_clock_sample, in the probe object's map `mapName`. */
  clock: { size: number; jiffies: number; ktimeNs: number; mapName: string };
}

/** A tc filter's place on a hook: its handle at a priority. */
export interface TcSlot {
  handle: number;
  priority: number;
}

export interface SantaNative {
  loadObject(path: string, opts?: LoadOptions): LoadedObject;
  closeObject(id: number): void;

  /**
   * Fails with EBUSY when a program is attached in this mode already, unless `replace` (any
   * program) or `expectedProgFd` (atomically, only that program: EEXIST otherwise).
   */
  attachXdp(progFd: number, ifname: string, mode: XdpMode, netnsPath?: string, opts?: XdpAttachOptions): void;
  /** With `expectedProgFd`, detaches only that program (EEXIST if another one is attached). */
  detachXdp(ifname: string, mode: XdpMode, netnsPath?: string, opts?: { expectedProgFd?: number }): void;
  queryXdp(ifname: string, netnsPath?: string): XdpAttachment | null;

  /**
   * A direct-action filter on the interface's tc ingress hook (created if missing), in the slot
   * (handle, priority). Without `replace`, fails with EEXIST when the slot holds a filter.
   */
  attachTcIngress(progFd: number, ifname: string, netnsPath: string | undefined, opts: TcSlot & { replace?: boolean }): void;
  /** Removes the filter in the slot (ENOENT when there is none); the hook stays. */
  detachTcIngress(ifname: string, netnsPath: string | undefined, slot: TcSlot): void;
  /** The id of the program in the slot, 0 when it is empty. */
  queryTcIngress(ifname: string, netnsPath: string | undefined, slot: TcSlot): number;

  pinObject(fd: number, path: string): void;
  objGet(path: string): number;
  progGetFdById(id: number): number;
  mapGetFdById(id: number): number;
  progInfo(fd: number): ProgInfo;
  mapInfo(fd: number): MapInfo;
  closeFd(fd: number): void;
  /** BPF_ENABLE_STATS: run time is counted while the returned fd stays open. */
  enableStats(): number;
  numPossibleCpus(): number;

  /** Per-CPU maps: every possible CPU's value, each padded to 8 bytes, in CPU order. */
  lookup(fd: number, key: Buffer): Buffer | null;
  update(fd: number, key: Buffer, value: Buffer, flags?: number): void;
  /** True if the key was there. */
  delete(fd: number, key: Buffer): boolean;
  /** Throws with `done` (elements written before the failure) when one fails. */
  updateBatch(fd: number, keys: Buffer, values: Buffer, count: number, flags?: number): number;
  /** Returns how many of the keys were present (and are now gone). */
  deleteBatch(fd: number, keys: Buffer, count: number): number;
  lookupBatch(fd: number): BatchLookup;
  keys(fd: number): Buffer[];

  progTestRun(progFd: number, dataIn: Buffer, opts?: TestRunOptions): TestRunResult;
  abi(): NativeAbi;

  /** Maps the values of a BPF_F_MMAPABLE array read-write; returns a handle for the calls below. */
  mapMmap(fd: number): number;
  mapMunmap(handle: number): void;
  /** A copy of `length` bytes at `offset` of the mapping. */
  mapMemRead(handle: number, offset: number, length: number): Buffer;
  /** Fills `target` with target.length bytes at `offset` (mapMemRead without the allocation). */
  mapMemReadInto(handle: number, offset: number, target: Buffer): void;
  /** Plain stores: for memory no program can be reading. */
  mapMemWrite(handle: number, offset: number, data: Buffer): void;
  /** One aligned 8-byte release store: what publishes an entry to running programs. */
  mapMemStoreU64(handle: number, offset: number, value: bigint): void;
  /** [tag, group1, group2, filterBit] of a struct santa_key (the name may stop at name_len), as the program
   * computes them: the key's index way without its id (add id + 1), its two index groups and its bit in a
   * miss filter of 2^(64 - filterShift) bits. */
  keyHash(seed: number, mask: number, filterShift: number, key: Buffer): [bigint, number, number, number];
  /** Waits until every program run that began before the call has ended (membarrier); false if unavailable. */
  rcuBarrier(): boolean;

  updateFlags: { ANY: number; NOEXIST: number; EXIST: number };
}

/** What the binding throws for a failed syscall. */
export interface BpfError extends Error {
  code: string;
  errno: number;
  /** loadObject: what the verifier said, per program. */
  verifierLog?: string;
  /** loadObject: libbpf's warnings. */
  libbpfLog?: string;
  /** updateBatch/deleteBatch: elements processed before the failure. */
  done?: number;
}

/** Duck-typed: errors from the addon belong to the main realm, so `instanceof Error` fails
 * inside other realms (vm contexts, jest). */
export function isBpfError(e: unknown): e is BpfError {
  const err = e as BpfError | null;
  return typeof err === 'object' && err !== null && typeof err.message === 'string' && typeof err.errno === 'number' && typeof err.code === 'string';
}

/** SANTA_NATIVE overrides; otherwise xdp/build/ of this checkout, from source or from dist/. */
export function nativeModulePath(): string {
  const override = process.env.SANTA_NATIVE;
  if (override) return resolve(override);
  const candidates = [
    resolve(__dirname, '../../xdp/build/santa_native.node'),
    resolve(__dirname, '../../../xdp/build/santa_native.node'),
  ];
  return candidates.find((p) => existsSync(p)) ?? candidates[0];
}

let loaded: SantaNative | undefined;

export function loadNative(): SantaNative {
  if (loaded) return loaded;
  const path = nativeModulePath();
  if (!existsSync(path)) {
    throw new Error(`santa native binding not found at ${path}: build it with \`make -C xdp\` (or \`npm install\`)`);
  }
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    loaded = require(path) as SantaNative;
  } catch (e) {
    throw new Error(`cannot load santa native binding ${path} (rebuild with \`make -C xdp\`): ${(e as Error).message}`);
  }
  return loaded;
}
