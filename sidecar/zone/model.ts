/**
 * The immutable zone model: RRsets by owner and type, plus the structure lookups need (zone
 * cuts, wildcards, empty non-terminals). Names are kept in the zone file's case; lookups use the
 * lower-cased name as key (see name.ts).
 *
 * Names are interned in a NameTable (one id per name, with flags saying what the name is) and
 * records are held compactly (store.ts); `node()` builds a name's RRsets when asked, sorted the
 * way BIND's database keeps them (DNSSEC canonical order, duplicates removed): BIND answers start
 * from that order and rotate it. Recently used names are cached. The string-keyed Map and Set
 * views exist for callers that enumerate; lookups by wire name (`findName`) make no strings.
 */
import { NameTable } from './name-table';
import { nameKey, nameToWire } from './name';
import { RecordStore } from './store';
import { T } from './types';

export interface RRset {
  /** Owner in the zone file's case. */
  readonly name: string;
  readonly type: number;
  readonly ttl: number;
  readonly rdata: readonly Buffer[];
  /** The owner in wire form (same case as `name`), when the zone model made the RRset. */
  readonly wire?: Buffer;
}

export interface ZoneNode {
  readonly name: string;
  readonly rrsets: ReadonlyMap<number, RRset>;
  /**
   * The RRSIGs by the type they cover, each an RRset of its own (type RRSIG) with the TTL of its
   * first record, as BIND keeps them: a signed answer carries only the covering signatures.
   */
  readonly sigs: ReadonlyMap<number, RRset>;
}

export interface ZoneWarning {
  file: string;
  line: number;
  message: string;
}

/** The RRsets of one name: two short arrays cost far less than a Map per name. */
export class RRsetMap implements ReadonlyMap<number, RRset> {
  private readonly types: number[] = [];
  private readonly sets: RRset[] = [];

  get size(): number {
    return this.types.length;
  }

  get(type: number): RRset | undefined {
    const i = this.types.indexOf(type);
    return i < 0 ? undefined : this.sets[i];
  }

  has(type: number): boolean {
    return this.types.includes(type);
  }

  /** Only while a node is being assembled. */
  set(type: number, set: RRset): void {
    const i = this.types.indexOf(type);
    if (i < 0) {
      this.types.push(type);
      this.sets.push(set);
    } else {
      this.sets[i] = set;
    }
  }

  keys(): IterableIterator<number> {
    return this.types[Symbol.iterator]();
  }

  values(): IterableIterator<RRset> {
    return this.sets[Symbol.iterator]();
  }

  *entries(): IterableIterator<[number, RRset]> {
    for (let i = 0; i < this.types.length; i++) yield [this.types[i], this.sets[i]];
  }

  [Symbol.iterator](): IterableIterator<[number, RRset]> {
    return this.entries();
  }

  forEach(fn: (value: RRset, key: number, map: ReadonlyMap<number, RRset>) => void): void {
    for (let i = 0; i < this.types.length; i++) fn(this.sets[i], this.types[i], this);
  }
}

/** Canonical RDATA order key: names in lower case for the types RFC 4034 section 6.2 lists. */
function canonical(type: number, rdata: Buffer): Buffer {
  const nameAt = type === T.NS || type === T.CNAME || type === T.PTR || type === T.DNAME ? 0 : type === T.MX || type === T.AFSDB || type === T.KX ? 2 : type === T.SRV ? 6 : -1;
  if (nameAt < 0) return rdata;
  const out = Buffer.from(rdata);
  for (let i = nameAt; i < out.length; i++) if (out[i] >= 0x41 && out[i] <= 0x5a) out[i] |= 0x20;
  return out;
}

export function sortedUnique(type: number, rdata: Buffer[]): Buffer[] {
  if (rdata.length < 2) return rdata;
  const keyed = rdata.map((r) => ({ r, c: canonical(type, r) })).sort((a, b) => Buffer.compare(a.c, b.c));
  const out: Buffer[] = [];
  for (let i = 0; i < keyed.length; i++) if (i === 0 || !keyed[i].c.equals(keyed[i - 1].c)) out.push(keyed[i].r);
  return out;
}

/** What a name in the NameTable is. */
export const NAME_DATA = 1; // has records in the ordinary tree
export const NAME_NSEC3 = 2; // holds only NSEC3 (and RRSIG): outside the ordinary tree
export const NAME_ENT = 4; // exists only because names below it do
export const NAME_DELEGATION = 8; // NS below the apex: a zone cut
export const NAME_DNAME = 16;
export const NAME_WILDCARD = 32; // first label is `*`

/** Read-only views over the names with some flag, keyed by lookup key (lower-case presentation). */
class FlaggedNames implements ReadonlySet<string> {
  private count = -1;
  constructor(
    private readonly zone: Zone,
    private readonly flag: number,
  ) {}
  get size(): number {
    if (this.count < 0) {
      let n = 0;
      const ids = this.ids();
      while (!ids.next().done) n++;
      this.count = n;
    }
    return this.count;
  }
  has(key: string): boolean {
    const id = this.zone.findKey(key);
    return id >= 0 && (this.zone.nameFlags(id) & this.flag) !== 0;
  }
  *ids(): IterableIterator<number> {
    const n = this.zone.nameCount;
    for (let id = 0; id < n; id++) if ((this.zone.nameFlags(id) & this.flag) !== 0) yield id;
  }
  *keys(): IterableIterator<string> {
    for (const id of this.ids()) yield nameKey(this.zone.nameText(id));
  }
  values(): IterableIterator<string> {
    return this.keys();
  }
  *entries(): IterableIterator<[string, string]> {
    for (const key of this.keys()) yield [key, key];
  }
  [Symbol.iterator](): IterableIterator<string> {
    return this.keys();
  }
  forEach(fn: (value: string, key: string, set: ReadonlySet<string>) => void): void {
    for (const key of this.keys()) fn(key, key, this);
  }
}

/** Nodes with some flag as a read-only Map by key, built on demand. */
class NodeMap implements ReadonlyMap<string, ZoneNode> {
  private readonly names: FlaggedNames;
  constructor(
    private readonly zone: Zone,
    flag: number,
  ) {
    this.names = new FlaggedNames(zone, flag);
  }
  get size(): number {
    return this.names.size;
  }
  get(key: string): ZoneNode | undefined {
    return this.names.has(key) ? this.zone.nodeById(this.zone.findKey(key)) : undefined;
  }
  has(key: string): boolean {
    return this.names.has(key);
  }
  keys(): IterableIterator<string> {
    return this.names.keys();
  }
  *values(): IterableIterator<ZoneNode> {
    for (const id of this.names.ids()) yield this.zone.nodeById(id);
  }
  *entries(): IterableIterator<[string, ZoneNode]> {
    for (const id of this.names.ids()) {
      const node = this.zone.nodeById(id);
      yield [nameKey(node.name), node];
    }
  }
  [Symbol.iterator](): IterableIterator<[string, ZoneNode]> {
    return this.entries();
  }
  forEach(fn: (value: ZoneNode, key: string, map: ReadonlyMap<string, ZoneNode>) => void): void {
    for (const [key, node] of this.entries()) fn(node, key, this);
  }
}

const CACHE_LIMIT = 16384;

export interface ZoneInit {
  origin: string;
  class: number;
  store: RecordStore;
  /** Every name the zone knows (owners and empty non-terminals); ids index `flags` and `store`. */
  names: NameTable;
  /** NAME_* bits by name id. */
  flags: Uint8Array;
  signed: boolean;
  recordCount: number;
  warnings: ZoneWarning[];
}

export class Zone {
  /** Absolute origin with trailing dot. */
  readonly origin: string;
  readonly originKey: string;
  /** The origin in wire form (lookups compare names with it). */
  readonly originWire: Buffer;
  /** Name id of the apex (see findName). */
  readonly apexId: number;
  readonly class: number;
  readonly soa: RRset;
  readonly apexNs: RRset;
  readonly nodes: ReadonlyMap<string, ZoneNode>;
  /** Names holding only NSEC3 (and its RRSIG): outside the tree lookups see (named answers NXDOMAIN). */
  readonly nsec3Nodes: ReadonlyMap<string, ZoneNode>;
  /** Keys of names with NS below the apex: the zone cuts. */
  readonly delegations: ReadonlySet<string>;
  /** Keys of names that own a DNAME. */
  readonly dnames: ReadonlySet<string>;
  /** Keys of wildcard owners (`*.parent.`). */
  readonly wildcards: ReadonlySet<string>;
  /** Keys of names that exist only because names below them do. */
  readonly emptyNonTerminals: ReadonlySet<string>;
  /** RRSIG, DNSKEY or NSEC3 present: DNSSEC-aware answers depend on DO. */
  readonly signed: boolean;
  /** Records read (duplicates included). */
  readonly recordCount: number;
  readonly warnings: readonly ZoneWarning[];

  private readonly store: RecordStore;
  private readonly table: NameTable;
  private readonly flags: Uint8Array;
  /** Built nodes of recently used names by id: hot names skip building their RRsets again. */
  private readonly cache = new Map<number, ZoneNode>();
  /** Scratch for turning key strings into wire form. */
  private readonly scratch = Buffer.alloc(256);

  constructor(init: ZoneInit) {
    this.origin = init.origin;
    this.originKey = nameKey(init.origin);
    this.originWire = nameToWire(init.origin);
    this.class = init.class;
    this.store = init.store;
    this.table = init.names;
    this.flags = init.flags;
    this.signed = init.signed;
    this.recordCount = init.recordCount;
    this.warnings = Object.freeze([...init.warnings]);
    this.nodes = new NodeMap(this, NAME_DATA);
    this.nsec3Nodes = new NodeMap(this, NAME_NSEC3);
    this.delegations = new FlaggedNames(this, NAME_DELEGATION);
    this.dnames = new FlaggedNames(this, NAME_DNAME);
    this.wildcards = new FlaggedNames(this, NAME_WILDCARD);
    this.emptyNonTerminals = new FlaggedNames(this, NAME_ENT);
    this.apexId = this.findKey(this.originKey);
    const apex = this.node(this.originKey);
    const soa = apex?.rrsets.get(T.SOA);
    const ns = apex?.rrsets.get(T.NS);
    if (!soa || !ns) throw new Error('zone model needs SOA and NS at the apex (checked by the parser)');
    this.soa = soa;
    this.apexNs = ns;
    Object.freeze(this);
  }

  /** The files the zone was read from: its own, then each `$INCLUDE`d one, in reading order. */
  get sourceFiles(): readonly string[] {
    return [...this.store.files];
  }

  /** The data node of a name (by key), if it has records in the ordinary tree. */
  node(key: string): ZoneNode | undefined {
    const id = this.findKey(key);
    return id >= 0 && (this.flags[id] & NAME_DATA) !== 0 ? this.nodeById(id) : undefined;
  }

  /** Whether the name exists in the zone (has data, or has names below it). */
  exists(key: string): boolean {
    const id = this.findKey(key);
    return id >= 0 && (this.flags[id] & (NAME_DATA | NAME_ENT)) !== 0;
  }

  rrset(key: string, type: number): RRset | undefined {
    return this.node(key)?.rrsets.get(type);
  }

  /** Owner names of all nodes, without building their RRsets. */
  *names(): IterableIterator<string> {
    for (let id = 0; id < this.flags.length; id++) if ((this.flags[id] & NAME_DATA) !== 0) yield this.table.text(id);
  }

  /** Id of a wire name (any case), or -1 when the zone does not know it. */
  findName(wire: Uint8Array, start: number, length: number): number {
    return this.table.find(wire, start, length);
  }

  /** Id of a name given by key (or any presentation form), or -1. */
  findKey(key: string): number {
    let length: number;
    try {
      length = keyToWire(key, this.scratch);
    } catch {
      return -1;
    }
    return length < 0 ? -1 : this.table.find(this.scratch, 0, length);
  }

  /** NAME_* bits of a name id. */
  nameFlags(id: number): number {
    return this.flags[id];
  }

  get nameCount(): number {
    return this.flags.length;
  }

  nameText(id: number): string {
    return this.table.text(id);
  }

  /** A name id's wire form, in the zone file's case. */
  nameWire(id: number): Buffer {
    return this.table.wire(id);
  }

  /** The node of a name id that has records (NAME_DATA or NAME_NSEC3). */
  nodeById(id: number): ZoneNode {
    let node = this.cache.get(id);
    if (node) return node;
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    node = this.build(id);
    this.cache.set(id, node);
    return node;
  }

  private build(id: number): ZoneNode {
    const s = this.store;
    const name = this.table.text(id);
    const wire = this.table.wire(id);
    const rrsets = new RRsetMap();
    const byType = new Map<number, { ttl: number; rdata: Buffer[] }>();
    for (const rr of s.records(id)) {
      const type = s.rrType[rr];
      let group = byType.get(type);
      if (!group) {
        // The first record's TTL is the RRset's, as BIND does ("TTL set to prior TTL").
        group = { ttl: s.rrTtl[rr], rdata: [] };
        byType.set(type, group);
      }
      group.rdata.push(s.rdata(rr));
    }
    for (const [type, group] of byType) rrsets.set(type, Object.freeze({ name, type, ttl: group.ttl, rdata: Object.freeze(sortedUnique(type, group.rdata)), wire }));
    const rrsigs = byType.get(T.RRSIG);
    return Object.freeze({ name, rrsets, sigs: rrsigs ? sigsByCovered(name, wire, s, s.records(id)) : NO_SIGS });
  }

  /**
   * A digest of the zone's data that two zones share when they hold the same records: every
   * record but those of `skip` types (owner in any case, type, its RRset's TTL, RDATA; the SOA
   * without its serial), summed so that order does not count. Read from the store without
   * building nodes: a million records take well under a second.
   */
  dataDigest(skip: ReadonlySet<number>): string {
    const s = this.store;
    const buf = s.arena.buf;
    let sumA = 0;
    let sumB = 0;
    for (let id = 0; id < s.nodeCount; id++) {
      const records = s.records(id);
      if (records.length === 0) continue;
      const owner = this.table.wire(id);
      const ownerA = fnv(owner, 0, owner.length, 0x811c9dc5, PRIME_A, true);
      const ownerB = fnv(owner, 0, owner.length, 0x811c9dc5, PRIME_B, true);
      const ttlOf = new Map<number, number>();
      for (const rr of records) {
        const type = s.rrType[rr];
        if (skip.has(type)) continue;
        if (!ttlOf.has(type)) ttlOf.set(type, s.rrTtl[rr]);
        const head = (Math.imul(type, 0x9e3779b1) + (ttlOf.get(type) as number)) >>> 0;
        let at = s.rrOffset[rr];
        const end = at + s.rrLength[rr];
        let a = Math.imul(ownerA ^ head, PRIME_A) >>> 0;
        let b = Math.imul(ownerB ^ head, PRIME_B) >>> 0;
        if (type === T.SOA) {
          // Hash MNAME and RNAME and the four fields after the serial.
          const serial = soaSerialOffset(buf, at);
          a = fnv(buf, at, serial, a, PRIME_A, false);
          b = fnv(buf, at, serial, b, PRIME_B, false);
          at = serial + 4;
        }
        a = fnv(buf, at, end, a, PRIME_A, false);
        b = fnv(buf, at, end, b, PRIME_B, false);
        sumA = (sumA + a) >>> 0;
        sumB = (sumB + b) >>> 0;
      }
    }
    return `${sumA.toString(16).padStart(8, '0')}${sumB.toString(16).padStart(8, '0')}`;
  }

  /** The RDATA of a name's first record of `type`, read without building the name's node. */
  firstRdata(id: number, type: number): Buffer | undefined {
    const s = this.store;
    if (id < 0 || id >= s.nodeCount) return undefined;
    for (const rr of s.records(id)) if (s.rrType[rr] === type) return s.rdata(rr);
    return undefined;
  }

  /** Ids of the names that own a record of `type` (NSEC3 owners included), in no order. */
  namesWithType(type: number): number[] {
    const out: number[] = [];
    const s = this.store;
    for (let id = 0; id < this.flags.length; id++) {
      if ((this.flags[id] & (NAME_DATA | NAME_NSEC3)) === 0 || id >= s.nodeCount) continue;
      for (const rr of s.records(id)) {
        if (s.rrType[rr] === type) {
          out.push(id);
          break;
        }
      }
    }
    return out;
  }
}

const NO_SIGS: ReadonlyMap<number, RRset> = new RRsetMap();

/** Where the serial is in SOA RDATA (uncompressed wire form) starting at `start`: after MNAME and
 * RNAME, the first of five 32-bit fields. */
export function soaSerialOffset(rdata: Uint8Array, start = 0): number {
  let at = start;
  for (let names = 0; names < 2; names++) {
    while (rdata[at] !== 0) at += rdata[at] + 1;
    at += 1;
  }
  return at;
}

/** FNV-1a's prime, and a second odd multiplier so the digest's two halves are independent. */
const PRIME_A = 0x01000193;
const PRIME_B = 0x5bd1e995;

/** FNV-1a over bytes [from, to) from state `h` with multiplier `prime`; `fold` lower-cases ASCII
 * letters (owner names). */
function fnv(buf: Uint8Array, from: number, to: number, h: number, prime: number, fold: boolean): number {
  for (let i = from; i < to; i++) {
    const c = buf[i];
    h = Math.imul(h ^ (fold && c >= 0x41 && c <= 0x5a ? c | 0x20 : c), prime);
  }
  return h >>> 0;
}

/** A node's RRSIG records grouped by the type they cover (its first two RDATA bytes), in file order. */
function sigsByCovered(name: string, wire: Buffer, s: RecordStore, records: number[]): ReadonlyMap<number, RRset> {
  const byCovered = new Map<number, { ttl: number; rdata: Buffer[] }>();
  for (const rr of records) {
    if (s.rrType[rr] !== T.RRSIG) continue;
    const rdata = s.rdata(rr);
    const covered = rdata.readUInt16BE(0);
    let group = byCovered.get(covered);
    if (!group) {
      group = { ttl: s.rrTtl[rr], rdata: [] };
      byCovered.set(covered, group);
    }
    group.rdata.push(rdata);
  }
  const sigs = new RRsetMap();
  for (const [covered, group] of byCovered) sigs.set(covered, Object.freeze({ name, type: T.RRSIG, ttl: group.ttl, rdata: Object.freeze(sortedUnique(T.RRSIG, group.rdata)), wire }));
  return sigs;
}

/**
 * Wire form of a name in presentation form (absolute or not: a key has its trailing dot) into
 * `out`; the length, or -1 when it is not a valid name.
 */
function keyToWire(key: string, out: Buffer): number {
  const text = key.endsWith('.') ? key : `${key}.`;
  if (text === '.') {
    out[0] = 0;
    return 1;
  }
  let lenAt = 0;
  let at = 1;
  for (let i = 0; i < text.length - 1; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5c || c > 0x7f) {
      const wire = nameToWire(text);
      if (wire.length > 255) return -1;
      wire.copy(out);
      return wire.length;
    }
    if (c === 0x2e) {
      const len = at - lenAt - 1;
      if (len === 0 || len > 63) return -1;
      out[lenAt] = len;
      lenAt = at++;
    } else {
      if (at >= 255) return -1;
      out[at++] = c;
    }
  }
  const len = at - lenAt - 1;
  if (len === 0 || len > 63 || at + 1 > 255) return -1;
  out[lenAt] = len;
  out[at++] = 0;
  return at;
}
