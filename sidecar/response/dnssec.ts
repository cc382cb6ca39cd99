/**
 * The DNSSEC records of an answer from a pre-signed zone (DO=1), found as BIND 9.18 finds them:
 * the RRSIGs covering each RRset, and the NSEC records that prove a name or type absent. Pure
 * functions of the zone model; zones are immutable, so what is found once is memoised per zone
 * (the NSEC chain in canonical order) and per RRset (its covering signatures).
 */
import { NAME_DATA, RRset, Zone } from '../zone/model';
import { wireNameLength } from '../zone/name-table';
import { T } from '../zone/types';

/** How the zone proves that names and types do not exist. */
export type Denial = 'nsec' | 'nsec3' | 'none';

/**
 * NSEC3 when the apex has an NSEC3PARAM (named then answers from the NSEC3 chain), else NSEC
 * when the apex has one, else none (RRSIGs without a chain: nothing can be proved).
 */
export function denialOf(zone: Zone): Denial {
  let denial = denials.get(zone);
  if (denial === undefined) {
    const apex = zone.nodeById(zone.apexId).rrsets;
    denial = apex.has(T.NSEC3PARAM) ? 'nsec3' : apex.has(T.NSEC) ? 'nsec' : 'none';
    denials.set(zone, denial);
  }
  return denial;
}

const denials = new WeakMap<Zone, Denial>();

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
  const suffix = wire.subarray(from, wireNameLength(wire, 0));
  return Buffer.concat([Buffer.from([1, 0x2a]), suffix]);
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
