/**
 * The DNSSEC records of an answer from a pre-signed zone (DO=1), found as BIND 9.18 finds them:
 * the RRSIGs covering each RRset, and the NSEC or NSEC3 records that prove a name or type absent.
 * Pure functions of the zone model; zones are immutable, so what is found once is memoised per
 * zone (the NSEC chain in canonical order, the NSEC3 chain in hash order) and per RRset (its
 * covering signatures).
 */
import { createHash } from 'node:crypto';
import { NAME_DATA, RRset, Zone } from '../zone/model';
import { wireNameLength } from '../zone/name-table';
import { T } from '../zone/types';

/** How the zone proves that names and types do not exist. */
export type DenialChain = 'nsec' | 'nsec3' | 'none';

/**
 * NSEC3 when the apex has an NSEC3PARAM (named then answers from the NSEC3 chain), else NSEC
 * when the apex has one, else none (RRSIGs without a chain: nothing can be proved).
 */
export function denialOf(zone: Zone): DenialChain {
  let denial = denials.get(zone);
  if (denial === undefined) {
    const apex = zone.nodeById(zone.apexId).rrsets;
    denial = apex.has(T.NSEC3PARAM) ? 'nsec3' : apex.has(T.NSEC) ? 'nsec' : 'none';
    denials.set(zone, denial);
  }
  return denial;
}

const denials = new WeakMap<Zone, DenialChain>();

/** The RRSIGs at `set`'s owner that cover its type, if the zone has any (none for synthesised RRsets). */
export function signaturesOf(zone: Zone, set: RRset): RRset | undefined {
  if (!set.wire || set.type === T.RRSIG) return undefined;
  let sigs = sigMemo.get(set);
  if (sigs === undefined) {
    const id = zone.findName(set.wire, 0, set.wire.length);
    sigs = (id >= 0 ? zone.nodeById(id).sigs.get(set.type) : undefined) ?? null;
    sigMemo.set(set, sigs);
  }
  return sigs ?? undefined;
}

const sigMemo = new WeakMap<RRset, RRset | null>();

/** The NSEC RRset a name owns (names with data in an NSEC-signed zone all have one). */
export function nsecAt(zone: Zone, wire: Uint8Array): RRset | undefined {
  const id = zone.findName(wire, 0, wireNameLength(wire, 0));
  if (id < 0 || (zone.nameFlags(id) & NAME_DATA) === 0) return undefined;
  return zone.nodeById(id).rrsets.get(T.NSEC);
}

/**
 * The NSEC that covers a name the zone does not hold (or an empty non-terminal): the one at the
 * last owner before it in canonical order, where BIND's database finds it.
 */
export function coveringNsec(zone: Zone, wire: Uint8Array): RRset | undefined {
  const chain = nsecChain(zone);
  let lo = 0;
  let hi = chain.length - 1;
  let at = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (canonicalCompare(chain[mid].wire, wire) < 0) {
      at = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  // Before the first owner (the apex) nothing in the zone sorts; the last NSEC wraps around.
  if (at < 0) at = chain.length - 1;
  return at < 0 ? undefined : zone.nodeById(chain[at].id).rrsets.get(T.NSEC);
}

interface ChainLink {
  id: number;
  wire: Buffer;
}

function nsecChain(zone: Zone): readonly ChainLink[] {
  let chain = chains.get(zone);
  if (!chain) {
    chain = zone.namesWithType(T.NSEC).map((id) => ({ id, wire: zone.nameWire(id) }));
    chain.sort((a, b) => canonicalCompare(a.wire, b.wire));
    chains.set(zone, chain);
  }
  return chain;
}

const chains = new WeakMap<Zone, ChainLink[]>();

/**
 * The wildcard whose absence an NXDOMAIN must also prove: `*.` and the closest encloser, which is
 * the longer of the name's common suffixes with the covering NSEC's owner and next name (how
 * named computes it from the NSEC it found).
 */
export function wildcardBelowEncloser(cover: RRset, wire: Uint8Array): Buffer {
  const owner = cover.wire as Uint8Array;
  const next = cover.rdata[0];
  const common = Math.max(commonSuffixLabels(wire, owner), commonSuffixLabels(wire, next));
  const starts = labelStarts(wire);
  const encloser = starts.length - common;
  const from = encloser < starts.length ? starts[encloser] : wireNameLength(wire, 0) - 1;
  return wildcardOfName(wire.subarray(from));
}

/** Where each label of a wire name starts (the root label not included). */
function labelStarts(wire: Uint8Array): number[] {
  const out: number[] = [];
  for (let at = 0; wire[at] !== 0; at += wire[at] + 1) out.push(at);
  return out;
}

function lower(c: number): number {
  return c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
}

function labelCompare(a: Uint8Array, at: number, b: Uint8Array, bt: number): number {
  const la = a[at];
  const lb = b[bt];
  const n = Math.min(la, lb);
  for (let k = 1; k <= n; k++) {
    const d = lower(a[at + k]) - lower(b[bt + k]);
    if (d !== 0) return d;
  }
  return la - lb;
}

/** Labels two wire names share at their ends, case-insensitively. */
function commonSuffixLabels(a: Uint8Array, b: Uint8Array): number {
  const sa = labelStarts(a);
  const sb = labelStarts(b);
  let n = 0;
  while (n < sa.length && n < sb.length && labelCompare(a, sa[sa.length - 1 - n], b, sb[sb.length - 1 - n]) === 0) n++;
  return n;
}

/** RFC 4034 6.1 canonical order of two wire names: label by label from the right, case folded. */
export function canonicalCompare(a: Uint8Array, b: Uint8Array): number {
  const sa = labelStarts(a);
  const sb = labelStarts(b);
  for (let i = 1; i <= sa.length && i <= sb.length; i++) {
    const d = labelCompare(a, sa[sa.length - i], b, sb[sb.length - i]);
    if (d !== 0) return d;
  }
  return sa.length - sb.length;
}

/** The hash parameters of a zone's NSEC3 chain (RFC 5155), from its NSEC3PARAM. */
interface Nsec3Params {
  iterations: number;
  salt: Buffer;
}

/** The apex NSEC3PARAM named uses (SHA-1, flags 0), if the zone has one. */
function nsec3ParamsOf(zone: Zone): Nsec3Params | undefined {
  const param = zone.nodeById(zone.apexId).rrsets.get(T.NSEC3PARAM);
  const rdata = param?.rdata.find((r) => r[0] === 1 && r[1] === 0);
  if (!rdata) return undefined;
  return { iterations: rdata.readUInt16BE(2), salt: rdata.subarray(5, 5 + rdata[4]) };
}

const BASE32HEX = '0123456789abcdefghijklmnopqrstuv';

function base32hex(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += BASE32HEX[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32HEX[(value << (5 - bits)) & 31];
  return out;
}

/** RFC 5155 section 5: the iterated, salted SHA-1 of the lower-cased wire name, in base32hex. */
export function nsec3Hash(wire: Uint8Array, iterations: number, salt: Uint8Array): string {
  const name = Buffer.from(wire.subarray(0, wireNameLength(wire, 0)));
  for (let i = 0; i < name.length; i++) if (name[i] >= 0x41 && name[i] <= 0x5a) name[i] |= 0x20;
  let digest = createHash('sha1').update(name).update(salt).digest();
  for (let i = 0; i < iterations; i++) digest = createHash('sha1').update(digest).update(salt).digest();
  return base32hex(digest);
}

interface Nsec3Chain {
  params: Nsec3Params;
  /** Owner hashes (lower-case base32hex, which sorts as the hashes do) and their name ids, sorted. */
  hashes: string[];
  ids: number[];
}

/** The zone's NSEC3 chain for its NSEC3PARAM: the NSEC3 RRsets made with those parameters. */
function nsec3Chain(zone: Zone): Nsec3Chain | undefined {
  let chain = nsec3Chains.get(zone);
  if (chain === undefined) {
    const params = nsec3ParamsOf(zone);
    chain = null;
    if (params) {
      const links: { hash: string; id: number }[] = [];
      // Read from the record store: building every NSEC3 name's node would also flush the
      // zone's cache of hot names.
      for (const id of zone.namesWithType(T.NSEC3)) {
        const rdata = zone.firstRdata(id, T.NSEC3);
        if (!rdata || rdata[0] !== 1 || rdata.readUInt16BE(2) !== params.iterations || !rdata.subarray(5, 5 + rdata[4]).equals(params.salt)) continue;
        const wire = zone.nameWire(id);
        links.push({ hash: wire.subarray(1, 1 + wire[0]).toString('latin1').toLowerCase(), id });
      }
      links.sort((a, b) => (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0));
      chain = { params, hashes: links.map((l) => l.hash), ids: links.map((l) => l.id) };
    }
    nsec3Chains.set(zone, chain);
  }
  return chain ?? undefined;
}

const nsec3Chains = new WeakMap<Zone, Nsec3Chain | null>();

/** The NSEC3 whose owner is the hash of `wire`: proof that the name exists (and of its types). */
export function nsec3Matching(zone: Zone, wire: Uint8Array): RRset | undefined {
  const chain = nsec3Chain(zone);
  if (!chain) return undefined;
  const hash = nsec3Hash(wire, chain.params.iterations, chain.params.salt);
  const at = lastAtOrBefore(chain.hashes, hash);
  return at >= 0 && chain.hashes[at] === hash ? zone.nodeById(chain.ids[at]).rrsets.get(T.NSEC3) : undefined;
}

/** The NSEC3 whose hash interval holds the hash of `wire` (the last one wraps): proof it does not exist. */
export function nsec3Covering(zone: Zone, wire: Uint8Array): RRset | undefined {
  const chain = nsec3Chain(zone);
  if (!chain || chain.hashes.length === 0) return undefined;
  const hash = nsec3Hash(wire, chain.params.iterations, chain.params.salt);
  let at = lastAtOrBefore(chain.hashes, hash);
  if (at >= 0 && chain.hashes[at] === hash) return undefined; // it exists: nothing covers it
  if (at < 0) at = chain.hashes.length - 1;
  return zone.nodeById(chain.ids[at]).rrsets.get(T.NSEC3);
}

function lastAtOrBefore(sorted: readonly string[], key: string): number {
  let lo = 0;
  let hi = sorted.length - 1;
  let at = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] <= key) {
      at = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return at;
}

/**
 * The closest provable encloser of a name (RFC 5155 7.2.1): its nearest ancestor, itself
 * excluded, whose hash an NSEC3 matches; and the next closer name, one label longer toward it.
 */
export function closestEncloser(zone: Zone, wire: Uint8Array): { encloser: Uint8Array; nextCloser: Uint8Array } | undefined {
  const starts = labelStarts(wire);
  const end = wireNameLength(wire, 0);
  for (let i = 1; i <= starts.length; i++) {
    const from = i < starts.length ? starts[i] : end - 1;
    const encloser = wire.subarray(from, end);
    if (nsec3Matching(zone, encloser)) return { encloser, nextCloser: wire.subarray(starts[i - 1], end) };
  }
  return undefined;
}

/** `*.` and a name, in wire form. */
export function wildcardOfName(wire: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([1, 0x2a]), wire.subarray(0, wireNameLength(wire, 0))]);
}
