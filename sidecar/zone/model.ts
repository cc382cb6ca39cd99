/**
 * The immutable zone model: RRsets by owner and type, plus the structure lookups need (zone
 * cuts, wildcards, empty non-terminals). Names are kept in the zone file's case; maps are keyed
 * by the lower-cased name (see name.ts).
 *
 * RDATA is stored in uncompressed wire form, sorted the way BIND's database keeps it (DNSSEC
 * canonical order, duplicates removed): BIND answers start from that order and rotate it.
 */
import { nameKey, parent } from './name';
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

export class Zone {
  /** Absolute origin with trailing dot, in the case named.conf or the caller gave. */
  readonly origin: string;
  readonly originKey: string;
  readonly class: number;
  readonly soa: RRset;
  readonly apexNs: RRset;
  readonly nodes: ReadonlyMap<string, ZoneNode>;
  /** Nodes holding only NSEC3 (and its RRSIG): not part of the name tree lookups see. */
  readonly nsec3Nodes: ReadonlyMap<string, ZoneNode>;
  /** Keys of names with NS below the apex: the zone cuts. */
  readonly delegations: ReadonlySet<string>;
  /** Keys of wildcard owners (`*.parent.`). */
  readonly wildcards: ReadonlySet<string>;
  /** Keys of names that exist only because names below them do. */
  readonly emptyNonTerminals: ReadonlySet<string>;
  /** RRSIG or DNSKEY present: DNSSEC-aware answers depend on DO. */
  readonly signed: boolean;
  readonly recordCount: number;
  readonly warnings: readonly ZoneWarning[];

  constructor(init: { origin: string; class: number; nodes: Map<string, ZoneNode>; nsec3?: Map<string, ZoneNode>; recordCount: number; warnings: ZoneWarning[] }) {
    this.origin = init.origin;
    this.originKey = nameKey(init.origin);
    this.class = init.class;
    this.nodes = init.nodes;
    this.nsec3Nodes = init.nsec3 ?? new Map();
    this.recordCount = init.recordCount;
    this.warnings = Object.freeze([...init.warnings]);
    const apex = init.nodes.get(this.originKey);
    const soa = apex?.rrsets.get(T.SOA);
    const ns = apex?.rrsets.get(T.NS);
    if (!soa || !ns) throw new Error('zone model needs SOA and NS at the apex (checked by the parser)');
    this.soa = soa;
    this.apexNs = ns;
    const delegations = new Set<string>();
    const wildcards = new Set<string>();
    const ents = new Set<string>();
    let signed = this.nsec3Nodes.size > 0;
    for (const [key, node] of init.nodes) {
      if (key !== this.originKey && node.rrsets.has(T.NS)) delegations.add(key);
      if (key.startsWith('*.')) wildcards.add(key);
      if (node.rrsets.has(T.RRSIG) || node.rrsets.has(T.DNSKEY)) signed = true;
      for (let up = parent(key); up !== undefined && up !== this.originKey && up.length > this.originKey.length - 1; up = parent(up)) {
        if (init.nodes.has(up) || ents.has(up)) break;
        ents.add(up);
      }
    }
    this.delegations = delegations;
    this.wildcards = wildcards;
    this.emptyNonTerminals = ents;
    this.signed = signed;
    Object.freeze(this);
  }

  node(key: string): ZoneNode | undefined {
    return this.nodes.get(key);
  }

  /** Whether the name exists in the zone (has data, or has names below it). */
  exists(key: string): boolean {
    return this.nodes.has(key) || this.emptyNonTerminals.has(key);
  }

  rrset(key: string, type: number): RRset | undefined {
    return this.nodes.get(key)?.rrsets.get(type);
  }
}
