/**
 * The immutable zone model: RRsets by owner and type, plus the structure lookups need (zone
 * cuts, wildcards, empty non-terminals). Names are kept in the zone file's case; lookups use the
 * lower-cased name as key (see name.ts).
 *
 * Records are held compactly (store.ts); `node()` builds a name's RRsets when asked, sorted the
 * way BIND's database keeps them (DNSSEC canonical order, duplicates removed): BIND answers start
 * from that order and rotate it. Recently used names are cached.
 */
import { nameKey, parent } from './name';
import { RecordStore } from './store';
import { T } from './types';

export interface RRset {
  /** Owner in the zone file's case. */
  readonly name: string;
  readonly type: number;
  readonly ttl: number;
  readonly rdata: readonly Buffer[];
}

export interface ZoneNode {
  readonly name: string;
  readonly rrsets: ReadonlyMap<number, RRset>;
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

/** A read-only Map view whose values are built on demand. */
class LazyNodeMap implements ReadonlyMap<string, ZoneNode> {
  constructor(
    private readonly index: ReadonlyMap<string, number>,
    private readonly build: (id: number) => ZoneNode,
  ) {}
  get size(): number {
    return this.index.size;
  }
  get(key: string): ZoneNode | undefined {
    const id = this.index.get(key);
    return id === undefined ? undefined : this.build(id);
  }
  has(key: string): boolean {
    return this.index.has(key);
  }
  keys(): IterableIterator<string> {
    return this.index.keys();
  }
  *values(): IterableIterator<ZoneNode> {
    for (const id of this.index.values()) yield this.build(id);
  }
  *entries(): IterableIterator<[string, ZoneNode]> {
    for (const [key, id] of this.index) yield [key, this.build(id)];
  }
  [Symbol.iterator](): IterableIterator<[string, ZoneNode]> {
    return this.entries();
  }
  forEach(fn: (value: ZoneNode, key: string, map: ReadonlyMap<string, ZoneNode>) => void): void {
    for (const [key, id] of this.index) fn(this.build(id), key, this);
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

const CACHE_LIMIT = 16384;

export interface ZoneInit {
  origin: string;
  class: number;
  store: RecordStore;
  /** Key -> node id, for names in the ordinary tree. */
  index: Map<string, number>;
  /** Key -> node id for names that hold only NSEC3 records. */
  nsec3Index: Map<string, number>;
  delegations: Set<string>;
  dnames: Set<string>;
  wildcards: Set<string>;
  emptyNonTerminals: Set<string>;
  signed: boolean;
  recordCount: number;
  warnings: ZoneWarning[];
}

export class Zone {
  /** Absolute origin with trailing dot. */
  readonly origin: string;
  readonly originKey: string;
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
  private readonly index: Map<string, number>;
  /** Recently used names by key: hot names are found without touching the large index. */
  private readonly cache = new Map<string, ZoneNode>();

  constructor(init: ZoneInit) {
    this.origin = init.origin;
    this.originKey = nameKey(init.origin);
    this.class = init.class;
    this.store = init.store;
    this.index = init.index;
    this.delegations = init.delegations;
    this.dnames = init.dnames;
    this.wildcards = init.wildcards;
    this.emptyNonTerminals = init.emptyNonTerminals;
    this.signed = init.signed;
    this.recordCount = init.recordCount;
    this.warnings = Object.freeze([...init.warnings]);
    this.nodes = new LazyNodeMap(init.index, (id) => this.build(id));
    this.nsec3Nodes = new LazyNodeMap(init.nsec3Index, (id) => this.build(id));
    const apex = this.node(this.originKey);
    const soa = apex?.rrsets.get(T.SOA);
    const ns = apex?.rrsets.get(T.NS);
    if (!soa || !ns) throw new Error('zone model needs SOA and NS at the apex (checked by the parser)');
    this.soa = soa;
    this.apexNs = ns;
    Object.freeze(this);
  }

  node(key: string): ZoneNode | undefined {
    let node = this.cache.get(key);
    if (node) return node;
    const id = this.index.get(key);
    if (id === undefined) return undefined;
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    node = this.build(id);
    this.cache.set(key, node);
    return node;
  }

  /** Whether the name exists in the zone (has data, or has names below it). */
  exists(key: string): boolean {
    return this.cache.has(key) || this.index.has(key) || this.emptyNonTerminals.has(key);
  }

  rrset(key: string, type: number): RRset | undefined {
    return this.node(key)?.rrsets.get(type);
  }

  /** Owner names of all nodes, without building their RRsets. */
  *names(): IterableIterator<string> {
    for (const id of this.index.values()) yield this.store.names[id];
  }

  private build(id: number): ZoneNode {
    const s = this.store;
    const name = s.names[id];
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
    for (const [type, group] of byType) rrsets.set(type, Object.freeze({ name, type, ttl: group.ttl, rdata: Object.freeze(sortedUnique(type, group.rdata)) }));
    return Object.freeze({ name, rrsets });
  }
}

/** Keys of the names between `key` and the apex (exclusive) that are not in `index`. */
export function addEmptyNonTerminals(key: string, originKey: string, index: ReadonlyMap<string, number>, ents: Set<string>): void {
  for (let up = parent(key); up !== undefined && up !== originKey && up.length > originKey.length; up = parent(up)) {
    if (index.has(up) || ents.has(up)) return;
    ents.add(up);
  }
}
