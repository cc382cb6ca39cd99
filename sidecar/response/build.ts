/**
 * Builds the response BIND 9.18 sends as an authoritative-only server (recursion no) for one
 * question, from the zone model alone. Where BIND's answer depends on something the zone does
 * not tell (another zone, the client, signatures named makes itself), the result is "not
 * cacheable" with the reason, because an entry that could differ from BIND's answer must never
 * be served.
 *
 * The rules mirror what real named 9.18 was seen to do (test/zones/compare-bind.test.ts checks
 * them on every name in zones-example/):
 * - AA on data, NODATA and NXDOMAIN; no AA on referrals; RA never; RD and CD copied.
 * - CNAME chains are followed inside the zone; a chain that leaves the zone ends there with no
 *   authority section. DNAME synthesises a CNAME with the DNAME's TTL.
 * - Negative answers carry the SOA with TTL min(SOA TTL, SOA minimum).
 * - Positive answers carry the apex NS in authority (unless the answer already holds it) when
 *   minimal-responses allows; (C)DS and (C)DNSKEY answers never do.
 * - Additional data follows BIND's additionaldata rules (NS, MX, SRV, SVCB/HTTPS targets, NAPTR
 *   replacements), only from this zone, each name/type at most once in the message, rendered
 *   in BIND's passes: the client's own address family first (so IPv4 and IPv6 clients get
 *   different bytes: `bits.family`), then the other, then everything else.
 * - RRsets in canonical order. BIND rotates multi-record RRsets on each answer, so its bytes
 *   match ours only for one rotation; verify.ts tells that case apart.
 * - Over UDP, answer and authority that do not fit the limit make BIND truncate (TC): refused.
 *   An additional section that does not fit is cut at its first record that does not (the OPT's
 *   room kept back); `complete` then holds the whole answer, as BIND sends it over TCP.
 * - Names compressed exactly as BIND's compressor does (wire.ts); the answer owner keeps the
 *   zone's case, so a question in another case (0x20) is not pointed at.
 * - DO=1 in a pre-signed zone: every RRset with the RRSIGs covering it, and the NSEC or NSEC3
 *   records BIND adds to prove a name, type or wildcard absent (dnssec.ts), opt-out and CNAME
 *   chains through wildcards included. An RRSIG question gets each covered type's signatures as
 *   an RRset of its own. AD stays clear, as named leaves it on authoritative data.
 */
import * as model from '../zone/model';
import type { Zone, RRset } from '../zone/model';
import * as wireNames from '../zone/name-table';
import * as names from '../zone/name';
import * as types from '../zone/types';
import { closestEncloser, coveringNsec, denialOf, nsec3Covering, nsec3Matching, nsecAt, signaturesOf, wildcardBelowEncloser, wildcardOfName } from './dnssec';
import { MessageWriter, nameWire } from './wire';

/*
 * Module-local copies of what each build uses from other modules: when TypeScript runs through
 * esbuild's CommonJS output (tsx, the benchmarks), every imported binding is read through a
 * getter, which costs more than the work here. tsc's output does not need it.
 */
const { NAME_DATA, NAME_DELEGATION, NAME_DNAME, NAME_ENT, NAME_WILDCARD } = model;
const { isSubdomainWire, wireNameLength } = wireNames;
const { nameFromWire, nameKey, nameToWire, parseName, plainNameWire } = names;
const { T, classCode, typeCode, typeName } = types;

export type MinimalResponses = 'yes' | 'no' | 'no-auth' | 'no-auth-recursive';

export interface ResponseQuestion {
  /** As the client sent it (case kept); with or without the trailing dot. */
  name: string;
  type: string | number;
  class?: string | number;
}

export interface QueryBits {
  rd: boolean;
  edns: boolean;
  do: boolean;
  /** The client's advertised EDNS UDP size; absent means "as large as BIND ever sends". */
  udpSize?: number;
  cd?: boolean;
  /** The query's AD bit: named 9.18 answers authoritative data with AD clear either way (compared with it, signed zones included). */
  ad?: boolean;
  /**
   * Address family the query arrived over (default 4). named puts the client's own family's
   * glue first in the additional section, so the bytes differ between IPv4 and IPv6 clients.
   */
  family?: 4 | 6;
}

export interface ServerOptions {
  minimalResponses: MinimalResponses;
  /** UDP size BIND advertises in its OPT (edns-udp-size, default 1232). */
  ednsUdpSize: number;
  /** Largest UDP response BIND sends (max-udp-size, default 1232). */
  maxUdpSize?: number;
}

export type ResponseKind = 'answer' | 'cname' | 'dname' | 'wildcard' | 'nodata' | 'nxdomain' | 'referral';

export type BuiltResponse =
  | {
      cacheable: true;
      wire: Buffer;
      /**
       * The whole response, when `wire` is trimmed to the UDP limit (additional records left
       * out, as named does): what BIND sends over TCP, where Santa verifies answers.
       */
      complete?: Buffer;
      rcode: number;
      authoritative: boolean;
      kind: ResponseKind;
      limit: number;
    }
  | { cacheable: false; reason: string };

export const RCODE_NOERROR = 0;
export const RCODE_NXDOMAIN = 3;

/** Query types whose answers Santa never prebuilds. */
const UNCACHED_TYPES = new Map<number, string>([
  [T.ANY, 'ANY answers depend on minimal-any and transport'],
  [T.AXFR, 'zone transfers are not answered over UDP'],
  [T.IXFR, 'zone transfers are not answered over UDP'],
  [T.OPT, 'OPT is not a question type'],
  [T.SIG, 'SIG questions are answered per covered type by BIND'],
  [T.TKEY, 'TKEY is a transaction'],
  [T.TSIG, 'TSIG is a transaction'],
  [T.MAILA, 'meta type'],
  [T.MAILB, 'meta type'],
]);

const MAX_CHAIN = 16;

/**
 * The RRsets of one section in rendering order: grouped by owner name in the order names first
 * appeared, each name's RRsets in the order they were added (as BIND keeps them). A message
 * holds a handful, so parallel arrays and linear scans beat Maps and per-entry objects.
 */
class Section {
  /** Entries in use; the arrays keep their slots from message to message. */
  count = 0;
  readonly sets: RRset[] = [];
  readonly owners: string[] = [];
  readonly keys: string[] = [];
  readonly ttls: number[] = [];

  add(set: RRset, owner: string, key: string, ttl: number): void {
    // After the last RRset of the same owner, or at the end.
    let at = this.count;
    for (let i = this.count - 1; i >= 0; i--) {
      if (this.keys[i] === key) {
        at = i + 1;
        break;
      }
    }
    for (let i = this.count; i > at; i--) {
      this.sets[i] = this.sets[i - 1];
      this.owners[i] = this.owners[i - 1];
      this.keys[i] = this.keys[i - 1];
      this.ttls[i] = this.ttls[i - 1];
    }
    this.sets[at] = set;
    this.owners[at] = owner;
    this.keys[at] = key;
    this.ttls[at] = ttl;
    this.count++;
  }
}

/** The RRsets of the message being built (one at a time: the instance is reused). */
class Message {
  readonly answer = new Section();
  readonly authority = new Section();
  readonly additional = new Section();
  /** Owner keys and types of every RRset in the message (each goes in at most once). */
  private readonly presentKeys: string[] = [];
  private readonly presentTypes: number[] = [];
  private presentCount = 0;
  cls = 1;
  /** DO=1 in a signed zone: every RRset goes out with the RRSIGs that cover it. */
  private signedFrom: Zone | undefined;

  reset(zone: Zone, dnssec: boolean): void {
    this.cls = zone.class;
    this.signedFrom = dnssec ? zone : undefined;
    this.answer.count = this.authority.count = this.additional.count = 0;
    this.presentCount = 0;
  }

  /** Adds an RRset under `owner` and, for DNSSEC, its signatures right after it (TTL at most `sigTtlCap`). */
  add(section: Section, set: RRset, owner = set.name, ttl = set.ttl, sigTtlCap = Infinity): void {
    const key = nameKey(owner);
    this.presentKeys[this.presentCount] = key;
    this.presentTypes[this.presentCount++] = set.type;
    section.add(set, owner, key, ttl);
    const sigs = this.signedFrom && signaturesOf(this.signedFrom, set);
    if (sigs) section.add(sigs, owner, key, Math.min(sigs.ttl, sigTtlCap));
  }

  has(owner: string, type: number): boolean {
    const key = nameKey(owner);
    for (let i = 0; i < this.presentCount; i++) if (this.presentTypes[i] === type && this.presentKeys[i] === key) return true;
    return false;
  }

  /** How many RRs a section holds. */
  count(section: Section): number {
    let n = 0;
    for (let i = 0; i < section.count; i++) n += section.sets[i].rdata.length;
    return n;
  }

  /** Writes the RRs of a section in BIND's rendering order. */
  render(w: MessageWriter, section: Section, preferredGlue?: number): void {
    const n = section.count;
    if (preferredGlue === undefined) {
      for (let i = 0; i < n; i++) this.emit(w, section, i);
      return;
    }
    // The additional section goes out in passes (BIND's dns_message_rendersection): the
    // preferred address type, then the other one, then DNSSEC records, then everything else.
    for (let pass = 4; pass >= 1; pass--) {
      for (let i = 0; i < n; i++) if (renderPass(section.sets[i].type, preferredGlue) === pass) this.emit(w, section, i);
    }
  }

  /**
   * Writes the additional section in its passes while it fits in `budget` bytes, as named does
   * over UDP: at the first RR that does not fit, that RR and all after it are left out (no TC).
   * Returns how many RRs went out, or -1 where BIND's rotation of an RRset decides what goes out
   * (then its answers vary).
   */
  renderAdditional(w: MessageWriter, preferredGlue: number, budget: number): number {
    const section = this.additional;
    let count = 0;
    // Answer and authority already too large: named truncates (TC); the caller refuses.
    if (w.size > budget) return 0;
    for (let pass = 4; pass >= 1; pass--) {
      for (let i = 0; i < section.count; i++) {
        if (renderPass(section.sets[i].type, preferredGlue) !== pass) continue;
        const before = w.checkpoint();
        this.emit(w, section, i);
        const rdata = section.sets[i].rdata;
        if (w.size <= budget) {
          count += rdata.length;
          continue;
        }
        w.rollback(before);
        // named keeps the records of this RRset that fit, in its rotated order: the cut is the
        // same for every rotation only if none fits and all are alike in size.
        if (rdata.some((r) => r.length !== rdata[0].length)) return -1;
        w.record(section.owners[i], section.sets[i].type, this.cls, section.ttls[i], rdata[0]);
        const firstFits = w.size <= budget;
        w.rollback(before);
        return firstFits && rdata.length > 1 ? -1 : count;
      }
    }
    return count;
  }

  private emit(w: MessageWriter, section: Section, i: number): void {
    const set = section.sets[i];
    const owner = section.owners[i];
    // The RRset's own wire name serves when it goes out under its own owner (not a wildcard's).
    const wire = owner === set.name ? set.wire : undefined;
    const ttl = section.ttls[i];
    w.rrset(owner, set.type, this.cls, ttl, set.rdata, wire);
  }
}

function renderPass(type: number, preferredGlue: number): number {
  if (type === preferredGlue) return 4;
  if (type === T.A || type === T.AAAA) return 3;
  if (type === T.RRSIG || type === T.DNSKEY) return 2;
  return 1;
}

type Lookup =
  | { kind: 'data'; set: RRset; owner: string; wildcard: boolean }
  | { kind: 'cname'; set: RRset; owner: string; wildcard: boolean }
  | { kind: 'dname'; set: RRset; target: string }
  | { kind: 'nodata'; wildcard: boolean; wildcardWire?: Buffer }
  | { kind: 'nxdomain' }
  | { kind: 'referral'; cut: RRset }
  | { kind: 'outside' };

export function buildResponse(zone: Zone, question: ResponseQuestion, bits: QueryBits, server: ServerOptions): BuiltResponse {
  const qtype = typeof question.type === 'number' ? question.type : typeCode(question.type);
  if (qtype === undefined) return refuse(`unknown query type ${question.type}`);
  const qclass = question.class === undefined ? 1 : typeof question.class === 'number' ? question.class : classCode(question.class);
  if (qclass !== zone.class) return refuse(`query class ${question.class} is not the zone's class`);
  const uncached = UNCACHED_TYPES.get(qtype);
  if (uncached) return refuse(uncached);
  const dnssec = zone.signed && bits.do;

  const text = question.name.endsWith('.') ? question.name : `${question.name}.`;
  let qname = text;
  let qwire = plainNameWire(text);
  if (qwire === undefined) {
    try {
      qname = parseName(text, '.');
    } catch (e) {
      return refuse(`bad question name: ${(e as Error).message}`);
    }
    qwire = nameWire(qname);
  }
  if (!isSubdomainWire(qwire, 0, qwire.length, zone.originWire)) return refuse(`${qname} is not in zone ${zone.origin}`);

  const msg = message;
  msg.reset(zone, dnssec);
  let rcode = RCODE_NOERROR;
  let aa = true;
  let kind: ResponseKind | undefined;
  let addAuthorityNs = false;
  let name = qname;
  let wire = qwire;
  /** With DNSSEC: what the authority section must prove absent (or secure, for a referral). */
  const denials: Denial[] = [];
  for (let step = 0; ; step++) {
    if (step > MAX_CHAIN) return refuse(`CNAME/DNAME chain longer than ${MAX_CHAIN}`);
    const found = lookup(zone, name, wire, qtype);
    const first = step === 0;
    if (found.kind === 'outside') {
      // The chain left the zone: BIND stops with what it has and adds no authority.
      break;
    }
    if (found.kind === 'data') {
      if (dnssec && found.wildcard) denials.push({ kind: 'wildcard', wire });
      if (qtype === T.RRSIG) addSignaturesAnswer(zone, msg, found.set, found.owner);
      else msg.add(msg.answer, found.set, found.owner);
      kind ??= found.wildcard ? 'wildcard' : 'answer';
      addAuthorityNs = true;
      break;
    }
    if (found.kind === 'cname') {
      if (msg.has(found.owner, T.CNAME)) return refuse('CNAME loop');
      if (dnssec && found.wildcard) denials.push({ kind: 'wildcard', wire });
      msg.add(msg.answer, found.set, found.owner);
      kind ??= 'cname';
      wire = found.set.rdata[0];
      name = nameFromWire(wire, 0).name;
      continue;
    }
    if (found.kind === 'dname') {
      msg.add(msg.answer, found.set);
      const targetWire = nameToWire(found.target);
      if (targetWire.length > 255) return refuse('DNAME substitution makes a name longer than 255 bytes (BIND answers YXDOMAIN)');
      const synthesised: RRset = { name, type: T.CNAME, ttl: found.set.ttl, rdata: [targetWire] };
      msg.add(msg.answer, synthesised);
      kind ??= 'dname';
      name = found.target;
      wire = targetWire;
      continue;
    }
    if (found.kind === 'referral') {
      if (!first) return refuse('CNAME chain into a delegation');
      aa = false;
      kind = 'referral';
      msg.add(msg.authority, found.cut);
      if (dnssec) denials.push({ kind: 'referral', wire: found.cut.wire as Buffer });
      addAddresses(zone, msg, found.cut, true);
      break;
    }
    // Negative: NXDOMAIN or NODATA, from the question itself or at the end of a chain.
    if (found.kind === 'nxdomain') rcode = RCODE_NXDOMAIN;
    kind ??= found.kind === 'nxdomain' ? 'nxdomain' : 'nodata';
    if (dnssec) {
      if (found.kind === 'nodata' && found.wildcard) {
        denials.push({ kind: 'wildcard-nodata', wire, wildcardWire: found.wildcardWire as Buffer });
      } else if (found.kind === 'nodata' && denialOf(zone) === 'nsec3' && !nsec3Matching(zone, wire)) {
        // NODATA at an opt-out delegation (a DS question): named proves the closest provable
        // encloser instead, its match added ahead of the SOA and the next closer's cover after.
        const ce = closestEncloser(zone, wire);
        const match = ce && nsec3Matching(zone, ce.encloser);
        if (!ce || !match) return refuse('DNSSEC: no closest encloser proof');
        msg.add(msg.authority, match);
        denials.unshift({ kind: 'cover', wire: ce.nextCloser });
      } else {
        // After a wildcard CNAME, the proof for the name the chain ended at comes first.
        denials.unshift({ kind: found.kind, wire });
      }
    }
    const soa = zone.soa;
    const soaMinimum = soa.rdata[0].readUInt32BE(soa.rdata[0].length - 4);
    const negativeTtl = Math.min(soa.ttl, soaMinimum);
    msg.add(msg.authority, soa, soa.name, negativeTtl, negativeTtl);
    break;
  }

  // named answers (C)DS and (C)DNSKEY questions minimally: no NS in authority, no additional.
  const keyQuestion = qtype === T.DS || qtype === T.CDS || qtype === T.DNSKEY || qtype === T.CDNSKEY;
  // Additional processing only ever adds to the additional section: the answer can be walked as is.
  if (!keyQuestion) for (let i = 0; i < msg.answer.count; i++) additionalFor(zone, msg, msg.answer.sets[i]);
  const omitAuthority = keyQuestion || server.minimalResponses === 'yes' || server.minimalResponses === 'no-auth' || (server.minimalResponses === 'no-auth-recursive' && bits.rd);
  if (addAuthorityNs && !omitAuthority && !msg.has(zone.origin, T.NS)) {
    msg.add(msg.authority, zone.apexNs);
    addAddresses(zone, msg, zone.apexNs, false);
  }
  for (const denial of denials) {
    const why = addDenial(zone, msg, denial);
    if (why) return refuse(why);
  }
  // minimal-responses yes still sends the addresses of the servers in an NS answer (seen with
  // named 9.18), and referral glue; other additional data goes.
  const keepAdditional = server.minimalResponses !== 'yes' || kind === 'referral' || qtype === T.NS;

  let flags = 0x8000; // QR; opcode QUERY
  if (aa) flags |= 0x0400;
  if (bits.rd) flags |= 0x0100;
  if (bits.cd) flags |= 0x0010;
  flags |= rcode;
  const maxUdp = server.maxUdpSize ?? 1232;
  const limit = bits.edns ? Math.min(maxUdp, Math.max(512, bits.udpSize ?? maxUdp)) : 512;
  const preferredGlue = bits.family === 6 ? T.AAAA : T.A;
  const w = writer;
  const an = msg.count(msg.answer);
  const ns = msg.count(msg.authority);
  const opt = bits.edns ? 1 : 0;
  writeHead(w, msg, flags, [1, an, ns, (keepAdditional ? msg.count(msg.additional) : 0) + opt], qname, qtype, qclass, qwire);
  if (keepAdditional) msg.render(w, msg.additional, preferredGlue);
  if (bits.edns) w.opt(server.ednsUdpSize, bits.do);
  if (w.size <= limit) return { cacheable: true, wire: w.copy(), rcode, authoritative: aa, kind: kind ?? 'answer', limit };

  // Over the limit: written again with the additional section cut where named cuts it.
  const size = w.size;
  const complete = w.copy();
  writeHead(w, msg, flags, [1, an, ns, opt], qname, qtype, qclass, qwire);
  // The OPT record's room is kept back from the sections, as named reserves it.
  const kept = keepAdditional ? msg.renderAdditional(w, preferredGlue, limit - opt * OPT_SIZE) : 0;
  if (kept < 0) return refuse('response trimmed inside an RRset that BIND rotates (what goes out varies)');
  if (w.size + opt * OPT_SIZE > limit) return refuse(`response is ${size} bytes, more than the ${limit} bytes BIND sends over UDP here (it would truncate)`);
  w.header(0, flags, [1, an, ns, kept + opt]);
  if (bits.edns) w.opt(server.ednsUdpSize, bits.do);
  return { cacheable: true, wire: w.copy(), complete, rcode, authoritative: aa, kind: kind ?? 'answer', limit };
}

/**
 * The answer to an RRSIG question at the node owning `set` (its combined RRSIG RRset): named
 * sends each covered type's signatures as an RRset of its own, each with its own TTL.
 */
function addSignaturesAnswer(zone: Zone, msg: Message, set: RRset, owner: string): void {
  const wire = set.wire as Buffer;
  for (const sigs of zone.nodeById(zone.findName(wire, 0, wire.length)).sigs.values()) msg.add(msg.answer, sigs, owner);
}

/** A message's header, question, answer and authority sections, from the start. */
function writeHead(w: MessageWriter, msg: Message, flags: number, counts: [number, number, number, number], qname: string, qtype: number, qclass: number, qwire: Uint8Array): void {
  w.reset();
  w.header(0, flags, counts);
  w.question(qname, qtype, qclass, qwire);
  msg.render(w, msg.answer);
  msg.render(w, msg.authority);
}

/** An OPT record without options: root owner, type, class, TTL and RDLENGTH. */
const OPT_SIZE = 11;

/** Messages are built one at a time: one set of sections and one writer serve them all (the bytes are copied out). */
const message = new Message();
const writer = new MessageWriter();

function refuse(reason: string): BuiltResponse {
  return { cacheable: false, reason };
}

/** What a DNSSEC answer's authority section must prove, for the name where the lookup ended. */
type Denial =
  | { kind: 'nxdomain' | 'nodata' | 'wildcard' | 'referral' | 'cover'; wire: Uint8Array }
  | { kind: 'wildcard-nodata'; wire: Uint8Array; wildcardWire: Buffer };

/**
 * Adds the authority records BIND adds for DO=1 after the rest (query_nxdomain, query_nodata,
 * query_addwildcardproof, query_addds): NSEC or NSEC3 records with their signatures, or a
 * referral's DS. Returns why not, where the zone cannot prove what BIND would.
 */
function addDenial(zone: Zone, msg: Message, d: Denial): string | undefined {
  const chain = denialOf(zone);
  const proofType = chain === 'nsec3' ? T.NSEC3 : T.NSEC;
  const add = (set: RRset | undefined, what: string): string | undefined => {
    if (!set) return `DNSSEC: no ${typeName(proofType)} ${what}`;
    if (!msg.has(set.name, proofType)) msg.add(msg.authority, set);
    return undefined;
  };
  if (d.kind === 'referral') {
    const cut = zone.findName(d.wire, 0, d.wire.length);
    const ds = cut >= 0 ? zone.nodeById(cut).rrsets.get(T.DS) : undefined;
    if (ds) {
      msg.add(msg.authority, ds);
      return undefined;
    }
    if (chain === 'nsec3') {
      if (nsec3Matching(zone, d.wire)) return add(nsec3Matching(zone, d.wire), 'matches the delegation');
      // Opt-out: an unsigned delegation has no NSEC3; the closest provable encloser's match and
      // the next closer name's (opt-out) cover show that it may exist unsigned.
      const ce = closestEncloser(zone, d.wire);
      if (!ce) return 'DNSSEC: no closest encloser proof';
      return add(nsec3Matching(zone, ce.encloser), 'matches the closest encloser') ?? add(nsec3Covering(zone, ce.nextCloser), 'covers the next closer name');
    }
    if (chain === 'none') return 'DNSSEC: the zone has no NSEC or NSEC3 chain';
    return add(nsecAt(zone, d.wire), 'at the delegation');
  }
  if (chain === 'nsec3') return addNsec3Denial(zone, d, add);
  if (chain === 'none') return 'DNSSEC: the zone has no NSEC or NSEC3 chain';
  switch (d.kind) {
    case 'cover':
      return 'DNSSEC: a next closer proof outside NSEC3';
    case 'nodata':
      return add(nsecAt(zone, d.wire) ?? coveringNsec(zone, d.wire), 'for the name');
    case 'wildcard':
      return add(coveringNsec(zone, d.wire), 'covers the name');
    case 'wildcard-nodata':
      return add(nsecAt(zone, d.wildcardWire), 'at the wildcard') ?? add(coveringNsec(zone, d.wire), 'covers the name');
    case 'nxdomain': {
      const cover = coveringNsec(zone, d.wire);
      if (!cover) return 'DNSSEC: no NSEC covers the name';
      add(cover, 'covers the name');
      return add(coveringNsec(zone, wildcardBelowEncloser(cover, d.wire)), 'covers the wildcard');
    }
  }
}

/**
 * The NSEC3 proofs of RFC 5155 section 7.2 in the order named adds them: the closest encloser's
 * match, the next closer name's cover, the wildcard's cover (NXDOMAIN); the name's match
 * (NODATA); the next closer's cover (a wildcard answer).
 */
function addNsec3Denial(zone: Zone, d: Denial, add: (set: RRset | undefined, what: string) => string | undefined): string | undefined {
  switch (d.kind) {
    case 'nodata':
      return add(nsec3Matching(zone, d.wire), 'matches the name');
    case 'cover':
      return add(nsec3Covering(zone, d.wire), 'covers the next closer name');
    case 'nxdomain': {
      const ce = closestEncloser(zone, d.wire);
      if (!ce) return 'DNSSEC: no closest encloser proof';
      return add(nsec3Matching(zone, ce.encloser), 'matches the closest encloser') ?? add(nsec3Covering(zone, ce.nextCloser), 'covers the next closer name') ?? add(nsec3Covering(zone, wildcardOfName(ce.encloser)), 'covers the wildcard');
    }
    case 'wildcard': {
      const ce = closestEncloser(zone, d.wire);
      if (!ce) return 'DNSSEC: no closest encloser proof';
      return add(nsec3Covering(zone, ce.nextCloser), 'covers the next closer name');
    }
    case 'wildcard-nodata': {
      const ce = closestEncloser(zone, d.wire);
      if (!ce) return 'DNSSEC: no closest encloser proof';
      return add(nsec3Matching(zone, ce.encloser), 'matches the closest encloser') ?? add(nsec3Covering(zone, ce.nextCloser), 'covers the next closer name') ?? add(nsec3Matching(zone, d.wildcardWire), 'matches the wildcard');
    }
    case 'referral':
      return 'DNSSEC: referral proofs are added by addDenial';
  }
}


/**
 * Writes into `labelStart` where each label of a wire name starts, down to (and including) the
 * zone apex; returns how many.
 */
function findLabelStarts(zone: Zone, wire: Uint8Array, length: number): number {
  const apexAt = length - zone.originWire.length;
  let n = 0;
  for (let at = 0; at <= apexAt; at += wire[at] + 1) labelStart[n++] = at;
  return n;
}

/** Scratch for findLabelStarts (a name has at most 128 labels; lookups do not nest). */
const labelStart = new Int32Array(128);

/** The wildcard child (`*.`) of the name from `start` to `end` in `wire`: its RRsets and its name, if the zone has one. */
function wildcardOf(zone: Zone, wire: Uint8Array, start: number, end: number): { rrsets: ReadonlyMap<number, RRset>; wire: Buffer } | undefined {
  const wild = Buffer.allocUnsafe(2 + end - start);
  wild[0] = 1;
  wild[1] = 0x2a;
  wild.set(wire.subarray(start, end), 2);
  const id = zone.findName(wild, 0, wild.length);
  if (id < 0 || (zone.nameFlags(id) & (NAME_WILDCARD | NAME_DATA)) !== (NAME_WILDCARD | NAME_DATA)) return undefined;
  return { rrsets: zone.nodeById(id).rrsets, wire: zone.nameWire(id) };
}

/**
 * BIND's zone lookup for one name: the first zone cut or DNAME on the way down from the apex
 * wins, then the exact name, then the wildcard at the closest encloser. Names are looked up by
 * their wire form: each ancestor is a suffix of the name, so the walk makes no strings.
 */
function lookup(zone: Zone, name: string, wire: Uint8Array, qtype: number): Lookup {
  const length = wireNameLength(wire, 0);
  if (!isSubdomainWire(wire, 0, length, zone.originWire)) return { kind: 'outside' };
  const apex = findLabelStarts(zone, wire, length) - 1;
  const starts = labelStart;
  // Existence is closed upwards (a name's ancestors exist, as data or empty non-terminals), so
  // the walk down stops at the first name the zone does not have: the one above is the
  // closest encloser.
  let encloser = -1;
  let encloserId = -1;
  for (let d = apex; d >= 0; d--) {
    const at = starts[d];
    const id = d === apex ? zone.apexId : zone.findName(wire, at, length - at);
    if (id < 0 || (zone.nameFlags(id) & (NAME_DATA | NAME_ENT)) === 0) break;
    const flags = zone.nameFlags(id);
    const isName = d === 0;
    if (d !== apex && (flags & NAME_DELEGATION) !== 0 && !(isName && parentSideAt(zone.nodeById(id).rrsets, qtype))) {
      const ns = zone.nodeById(id).rrsets.get(T.NS);
      if (ns) return { kind: 'referral', cut: ns };
    }
    if (!isName && (flags & NAME_DNAME) !== 0) {
      const node = zone.nodeById(id);
      const dname = node.rrsets.get(T.DNAME);
      if (dname) {
        const target = nameFromWire(dname.rdata[0], 0).name;
        const prefix = name.slice(0, name.length - node.name.length);
        return { kind: 'dname', set: dname, target: target === '.' ? prefix : `${prefix}${target}` };
      }
    }
    encloser = d;
    encloserId = id;
  }
  if (encloser === 0) {
    if ((zone.nameFlags(encloserId) & NAME_DATA) !== 0) return fromNode(zone.nodeById(encloserId).rrsets, name, qtype);
    return { kind: 'nodata', wildcard: false };
  }
  if (encloser < 0) return { kind: 'nxdomain' };
  const wild = wildcardOf(zone, wire, starts[encloser], length);
  if (wild) return fromNode(wild.rrsets, name, qtype, wild.wire);
  return { kind: 'nxdomain' };
}

/** The answer from a node's RRsets; `wildcardWire` is the wildcard's name when the node is one matched for `owner`. */
/**
 * Whether a question about a zone cut itself is answered from this (the parent) side: DS always,
 * and NSEC where the cut has one (a signed parent's NSEC at a cut is its own data, and named
 * answers it with AA).
 */
function parentSideAt(rrsets: ReadonlyMap<number, RRset>, qtype: number): boolean {
  return qtype === T.DS || (qtype === T.NSEC && rrsets.has(T.NSEC));
}

const NOT_THROUGH_CNAME = new Set<number>([T.RRSIG, T.NSEC, T.KEY]);

function fromNode(rrsets: ReadonlyMap<number, RRset>, owner: string, qtype: number, wildcardWire?: Buffer): Lookup {
  const wildcard = wildcardWire !== undefined;
  const set = rrsets.get(qtype);
  if (set) return { kind: 'data', set, owner: wildcard ? owner : set.name, wildcard };
  // named does not follow a CNAME for the types that may sit beside one (RFC 2181 10.1, 4035):
  // RRSIG, NSEC and KEY questions at a CNAME get NODATA (each seen in the BIND comparison).
  const cname = NOT_THROUGH_CNAME.has(qtype) ? undefined : rrsets.get(T.CNAME);
  if (cname) return { kind: 'cname', set: cname, owner: wildcard ? owner : cname.name, wildcard };
  return { kind: 'nodata', wildcard, wildcardWire };
}

/**
 * Additional-section processing for an RRset, per BIND's additionaldata methods: addresses of
 * NS, MX, SRV, SVCB/HTTPS, AFSDB, RT, KX (and MB/MD/MF) targets; for NAPTR with an S flag the replacement's
 * SRV RRset (and its targets' addresses), with an A flag the replacement's addresses.
 */
function additionalFor(zone: Zone, msg: Message, set: RRset): void {
  if (set.type === T.NAPTR) {
    for (const rdata of set.rdata) {
      let at = 4;
      const flags = rdata.subarray(at + 1, at + 1 + rdata[at]).toString('latin1');
      for (let i = 0; i < 3; i++) at += rdata[at] + 1;
      const first = /[sSaA]/.exec(flags)?.[0];
      if (first === 's' || first === 'S') addTargetSrv(zone, msg, rdata, at);
      else if (first === 'a' || first === 'A') addAll(msg, targetAddresses(zone, rdata, at, false));
    }
    return;
  }
  if (TARGET_AT.has(set.type)) addAll(msg, setTargets(zone, set, false));
}

/** Where the target name sits in the RDATA of the types whose targets get addresses. */
const TARGET_AT = new Map<number, number>([
  [T.NS, 0], [T.MB, 0], [T.MD, 0], [T.MF, 0],
  [T.MX, 2], [T.AFSDB, 2], [T.RT, 2], [T.KX, 2],
  [T.SRV, 6],
  [T.SVCB, 2], [T.HTTPS, 2],
]);

/** An address RRset to add for a target name, with the owner it goes out under. */
interface AddressData {
  set: RRset;
  owner: string;
}

/**
 * The address RRsets for all targets of an RRset, by whether glue below a zone cut counts:
 * the zone is immutable and the same NS/MX/SRV RRsets come back answer after answer. Entries
 * go with the RRset objects (built with their node, dropped with it).
 */
const targetMemo = [new WeakMap<RRset, readonly AddressData[]>(), new WeakMap<RRset, readonly AddressData[]>()];

function setTargets(zone: Zone, set: RRset, glueOk: boolean): readonly AddressData[] {
  const memo = targetMemo[glueOk ? 1 : 0];
  let data = memo.get(set);
  if (data === undefined) {
    const at = TARGET_AT.get(set.type) ?? 0;
    const all: AddressData[] = [];
    for (const rdata of set.rdata) {
      // SVCB/HTTPS: 9.18 adds the target's addresses, and nothing for "." (later versions do more).
      if ((set.type === T.SVCB || set.type === T.HTTPS) && rdata[2] === 0) continue;
      all.push(...targetAddresses(zone, rdata, at, glueOk));
    }
    data = all;
    memo.set(set, data);
  }
  return data;
}

/** Adds address RRsets not yet in the message (each name and type goes in once). */
function addAll(msg: Message, data: readonly AddressData[]): void {
  for (const { set, owner } of data) {
    if (msg.has(owner, set.type)) continue;
    msg.add(msg.additional, set, owner);
  }
}

function addTargetSrv(zone: Zone, msg: Message, src: Buffer, start: number): void {
  const length = wireNameLength(src, start);
  if (!isSubdomainWire(src, start, length, zone.originWire) || belowCut(zone, src, start, length)) return;
  const id = zone.findName(src, start, length);
  if (id < 0 || (zone.nameFlags(id) & NAME_DATA) === 0) return;
  const srv = zone.nodeById(id).rrsets.get(T.SRV);
  if (!srv || msg.has(srv.name, T.SRV)) return;
  msg.add(msg.additional, srv);
  additionalFor(zone, msg, srv);
}

function addAddresses(zone: Zone, msg: Message, ns: RRset, glueOk: boolean): void {
  addAll(msg, setTargets(zone, ns, glueOk));
}

function targetAddresses(zone: Zone, src: Buffer, start: number, glueOk: boolean): readonly AddressData[] {
  const length = wireNameLength(src, start);
  if (!isSubdomainWire(src, start, length, zone.originWire)) return [];
  if (!glueOk && belowCut(zone, src, start, length)) return [];
  const end = start + length;
  const id = zone.findName(src, start, length);
  const flags = id < 0 ? 0 : zone.nameFlags(id);
  let rrsets: ReadonlyMap<number, RRset> | undefined;
  let owner: string | undefined;
  if ((flags & NAME_DATA) !== 0) {
    rrsets = zone.nodeById(id).rrsets;
  } else if ((flags & NAME_ENT) === 0) {
    // A name the zone lacks: the wildcard at its closest encloser answers for it.
    for (let at = start + src[start] + 1; end - at >= zone.originWire.length; at += src[at] + 1) {
      const up = zone.findName(src, at, end - at);
      if (up < 0 || (zone.nameFlags(up) & (NAME_DATA | NAME_ENT)) === 0) continue;
      rrsets = wildcardOf(zone, src, at, end)?.rrsets;
      owner = nameFromWire(src, start).name;
      break;
    }
  }
  if (!rrsets) return [];
  const out: AddressData[] = [];
  for (const type of ADDRESS_TYPES) {
    const set = rrsets.get(type);
    if (set) out.push({ set, owner: owner ?? set.name });
  }
  return out;
}

const ADDRESS_TYPES = [T.A, T.AAAA];

/** Whether the name at `start` in `src` is at or below a zone cut (its glue is not answer data). */
function belowCut(zone: Zone, src: Uint8Array, start: number, length: number): boolean {
  const end = start + length;
  for (let at = start; end - at > zone.originWire.length; at += src[at] + 1) {
    const id = zone.findName(src, at, end - at);
    if (id >= 0 && (zone.nameFlags(id) & NAME_DELEGATION) !== 0) return true;
  }
  return false;
}
