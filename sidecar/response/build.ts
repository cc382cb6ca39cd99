/**
 * Builds the response BIND 9.18 sends as an authoritative-only server (recursion no) for one
 * question, from the zone model alone. Where BIND's answer depends on something the zone does
 * not tell (another zone, the client, signing), the result is "not cacheable" with the reason,
 * because an entry that could differ from BIND's answer must never be served.
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
 * - Names compressed exactly as BIND's compressor does (wire.ts); the answer owner keeps the
 *   zone's case, so a question in another case (0x20) is not pointed at.
 */
import { Zone, RRset } from '../zone/model';
import { isSubdomainKey, nameFromWire, nameKey, nameToWire, parent, parseName } from '../zone/name';
import { T, classCode, typeCode } from '../zone/types';
import { MessageWriter, WireRR } from './wire';

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
  | { cacheable: true; wire: Buffer; rcode: number; authoritative: boolean; kind: ResponseKind; limit: number }
  | { cacheable: false; reason: string };

export const RCODE_NOERROR = 0;
export const RCODE_NXDOMAIN = 3;

/** Query types whose answers Santa never prebuilds. */
const UNCACHED_TYPES = new Map<number, string>([
  [T.ANY, 'ANY answers depend on minimal-any and transport'],
  [T.AXFR, 'zone transfers are not answered over UDP'],
  [T.IXFR, 'zone transfers are not answered over UDP'],
  [T.OPT, 'OPT is not a question type'],
  [T.RRSIG, 'RRSIG questions are answered per covered type by BIND'],
  [T.SIG, 'SIG questions are answered per covered type by BIND'],
  [T.TKEY, 'TKEY is a transaction'],
  [T.TSIG, 'TSIG is a transaction'],
  [T.MAILA, 'meta type'],
  [T.MAILB, 'meta type'],
]);

const MAX_CHAIN = 16;

/** One owner name in a section with its RRsets in the order they were added, as BIND keeps them. */
interface NameEntry {
  key: string;
  sets: { set: RRset; owner: string; ttl: number }[];
}

class Section {
  readonly names: NameEntry[] = [];
  private readonly byKey = new Map<string, NameEntry>();

  add(set: RRset, owner: string, ttl: number): void {
    const key = nameKey(owner);
    let entry = this.byKey.get(key);
    if (!entry) {
      entry = { key, sets: [] };
      this.byKey.set(key, entry);
      this.names.push(entry);
    }
    entry.sets.push({ set, owner, ttl });
  }

  get empty(): boolean {
    return this.names.length === 0;
  }
}

class Message {
  readonly answer = new Section();
  readonly authority = new Section();
  readonly additional = new Section();
  private readonly present = new Set<string>();

  constructor(private readonly cls: number) {}

  add(section: Section, set: RRset, owner = set.name, ttl = set.ttl): void {
    this.present.add(`${nameKey(owner)}/${set.type}`);
    section.add(set, owner, ttl);
  }

  has(owner: string, type: number): boolean {
    return this.present.has(`${nameKey(owner)}/${type}`);
  }

  /** RRs of a section in BIND's rendering order. */
  records(section: Section, preferredGlue?: number): WireRR[] {
    const out: WireRR[] = [];
    if (preferredGlue === undefined) {
      for (const entry of section.names) for (const e of entry.sets) this.emit(e, out);
      return out;
    }
    // The additional section goes out in passes (BIND's dns_message_rendersection): the
    // preferred address type, then the other one, then DNSSEC records, then everything else.
    for (let pass = 4; pass >= 1; pass--) {
      for (const entry of section.names) for (const e of entry.sets) if (renderPass(e.set.type, preferredGlue) === pass) this.emit(e, out);
    }
    return out;
  }

  private emit(e: NameEntry['sets'][number], out: WireRR[]): void {
    for (const rdata of e.set.rdata) out.push({ name: e.owner, type: e.set.type, class: this.cls, ttl: e.ttl, rdata });
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
  | { kind: 'nodata'; wildcard: boolean }
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
  if (zone.signed && bits.do) return refuse('signed zone and DO=1: DNSSEC answers are not prebuilt yet');
  if (zone.signed && bits.ad) return refuse('signed zone and AD=1: BIND may set AD');
  let qname: string;
  try {
    qname = parseName(question.name.endsWith('.') ? question.name : `${question.name}.`, '.');
  } catch (e) {
    return refuse(`bad question name: ${(e as Error).message}`);
  }
  if (!isSubdomainKey(nameKey(qname), zone.originKey)) return refuse(`${qname} is not in zone ${zone.origin}`);

  const msg = new Message(zone.class);
  let rcode = RCODE_NOERROR;
  let aa = true;
  let kind: ResponseKind | undefined;
  let addAuthorityNs = false;
  let name = qname;
  for (let step = 0; ; step++) {
    if (step > MAX_CHAIN) return refuse(`CNAME/DNAME chain longer than ${MAX_CHAIN}`);
    const found = lookup(zone, name, qtype);
    const first = step === 0;
    if (found.kind === 'outside') {
      // The chain left the zone: BIND stops with what it has and adds no authority.
      break;
    }
    if (found.kind === 'data') {
      msg.add(msg.answer, found.set, found.owner);
      kind ??= found.wildcard ? 'wildcard' : 'answer';
      addAuthorityNs = true;
      break;
    }
    if (found.kind === 'cname') {
      if (msg.has(found.owner, T.CNAME)) return refuse('CNAME loop');
      msg.add(msg.answer, found.set, found.owner);
      kind ??= 'cname';
      name = nameFromWire(found.set.rdata[0], 0).name;
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
      continue;
    }
    if (found.kind === 'referral') {
      if (!first) return refuse('CNAME chain into a delegation');
      aa = false;
      kind = 'referral';
      msg.add(msg.authority, found.cut);
      addAddresses(zone, msg, found.cut, true);
      break;
    }
    // Negative: NXDOMAIN or NODATA, from the question itself or at the end of a chain.
    if (found.kind === 'nxdomain') rcode = RCODE_NXDOMAIN;
    kind ??= found.kind === 'nxdomain' ? 'nxdomain' : 'nodata';
    const soa = zone.soa;
    const soaMinimum = soa.rdata[0].readUInt32BE(soa.rdata[0].length - 4);
    msg.add(msg.authority, soa, soa.name, Math.min(soa.ttl, soaMinimum));
    break;
  }

  // named answers (C)DS and (C)DNSKEY questions minimally: no NS in authority, no additional.
  const keyQuestion = qtype === T.DS || qtype === T.CDS || qtype === T.DNSKEY || qtype === T.CDNSKEY;
  if (!keyQuestion) for (const entry of [...msg.answer.names]) for (const e of [...entry.sets]) additionalFor(zone, msg, e.set);
  const omitAuthority = keyQuestion || server.minimalResponses === 'yes' || server.minimalResponses === 'no-auth' || (server.minimalResponses === 'no-auth-recursive' && bits.rd);
  if (addAuthorityNs && !omitAuthority && !msg.has(zone.origin, T.NS)) {
    msg.add(msg.authority, zone.apexNs);
    addAddresses(zone, msg, zone.apexNs, false);
  }
  // minimal-responses yes still sends the addresses of the servers in an NS answer (seen with
  // named 9.18), and referral glue; other additional data goes.
  const keepAdditional = server.minimalResponses !== 'yes' || kind === 'referral' || qtype === T.NS;
  const additional = keepAdditional ? msg.records(msg.additional, bits.family === 6 ? T.AAAA : T.A) : [];
  const answer = msg.records(msg.answer);
  const authority = msg.records(msg.authority);

  let flags = 0x8000; // QR; opcode QUERY
  if (aa) flags |= 0x0400;
  if (bits.rd) flags |= 0x0100;
  if (bits.cd) flags |= 0x0010;
  flags |= rcode;
  const w = new MessageWriter();
  w.header(0, flags, [1, answer.length, authority.length, additional.length + (bits.edns ? 1 : 0)]);
  w.question(qname, qtype, qclass);
  for (const rr of answer) w.rr(rr);
  for (const rr of authority) w.rr(rr);
  for (const rr of additional) w.rr(rr);
  if (bits.edns) w.opt(server.ednsUdpSize, bits.do);
  const maxUdp = server.maxUdpSize ?? 1232;
  const limit = bits.edns ? Math.min(maxUdp, Math.max(512, bits.udpSize ?? maxUdp)) : 512;
  if (w.size > limit) return refuse(`response is ${w.size} bytes, more than the ${limit} bytes BIND sends over UDP here (it would trim or truncate)`);
  return { cacheable: true, wire: w.done(), rcode, authoritative: aa, kind: kind ?? 'answer', limit };
}

function refuse(reason: string): BuiltResponse {
  return { cacheable: false, reason };
}


/**
 * BIND's zone lookup for one name: the first zone cut or DNAME on the way down from the apex
 * wins, then the exact name, then the wildcard at the closest encloser.
 */
function lookup(zone: Zone, name: string, qtype: number): Lookup {
  const key = nameKey(name);
  if (!isSubdomainKey(key, zone.originKey)) return { kind: 'outside' };
  const ancestors: string[] = [];
  for (let up: string | undefined = key; up !== undefined && up !== zone.originKey; up = parent(up)) ancestors.push(up);
  ancestors.push(zone.originKey);
  for (let i = ancestors.length - 1; i >= 0; i--) {
    const at = ancestors[i];
    // Only zone cuts and DNAMEs matter on the way down; both are in small sets.
    const cut = at !== zone.originKey && zone.delegations.has(at) && !(at === key && qtype === T.DS);
    if (!cut && !(at !== key && zone.dnames.has(at))) continue;
    const node = zone.node(at);
    if (!node) continue;
    const ns = node.rrsets.get(T.NS);
    if (ns && cut) return { kind: 'referral', cut: ns };
    const dname = node.rrsets.get(T.DNAME);
    if (dname && at !== key) {
      const target = nameFromWire(dname.rdata[0], 0).name;
      const prefix = name.slice(0, name.length - node.name.length);
      return { kind: 'dname', set: dname, target: target === '.' ? prefix : `${prefix}${target}` };
    }
  }
  const node = zone.node(key);
  if (node) return fromNode(node.rrsets, name, qtype, false);
  if (zone.exists(key)) return { kind: 'nodata', wildcard: false };
  // Closest encloser: the longest existing ancestor; its wildcard child, if any, answers.
  for (let i = 1; i < ancestors.length; i++) {
    if (!zone.exists(ancestors[i])) continue;
    const wildKey = `*.${ancestors[i] === '.' ? '' : ancestors[i]}`;
    const wild = zone.wildcards.has(wildKey) ? zone.node(wildKey) : undefined;
    if (wild) return fromNode(wild.rrsets, name, qtype, true);
    return { kind: 'nxdomain' };
  }
  return { kind: 'nxdomain' };
}

function fromNode(rrsets: ReadonlyMap<number, RRset>, owner: string, qtype: number, wildcard: boolean): Lookup {
  const set = rrsets.get(qtype);
  if (set) return { kind: 'data', set, owner: wildcard ? owner : set.name, wildcard };
  const cname = rrsets.get(T.CNAME);
  if (cname) return { kind: 'cname', set: cname, owner: wildcard ? owner : cname.name, wildcard };
  return { kind: 'nodata', wildcard };
}

/**
 * Additional-section processing for an RRset, per BIND's additionaldata methods: addresses of
 * NS, MX, SRV, SVCB/HTTPS, AFSDB, RT, KX (and MB/MD/MF) targets; for NAPTR with an S flag the replacement's
 * SRV RRset (and its targets' addresses), with an A flag the replacement's addresses.
 */
function additionalFor(zone: Zone, msg: Message, set: RRset): void {
  for (const rdata of set.rdata) {
    switch (set.type) {
      case T.NS:
      case T.MB:
      case T.MD:
      case T.MF:
        addTargetAddresses(zone, msg, nameFromWire(rdata, 0).name, false);
        break;
      case T.MX:
      case T.AFSDB:
      case T.RT:
      case T.KX:
        addTargetAddresses(zone, msg, nameFromWire(rdata, 2).name, false);
        break;
      case T.SRV:
        addTargetAddresses(zone, msg, nameFromWire(rdata, 6).name, false);
        break;
      case T.SVCB:
      case T.HTTPS: {
        // 9.18 adds the target's addresses, and nothing for "." (later versions do more).
        const target = nameFromWire(rdata, 2).name;
        if (target !== '.') addTargetAddresses(zone, msg, target, false);
        break;
      }
      case T.NAPTR: {
        let at = 4;
        const flags = rdata.subarray(at + 1, at + 1 + rdata[at]).toString('latin1');
        for (let i = 0; i < 3; i++) at += rdata[at] + 1;
        const replacement = nameFromWire(rdata, at).name;
        const first = /[sSaA]/.exec(flags)?.[0];
        if (first === 's' || first === 'S') addTargetSrv(zone, msg, replacement);
        else if (first === 'a' || first === 'A') addTargetAddresses(zone, msg, replacement, false);
        break;
      }
      default:
        return;
    }
  }
}

function addTargetSrv(zone: Zone, msg: Message, target: string): void {
  const key = nameKey(target);
  if (!isSubdomainKey(key, zone.originKey) || belowCut(zone, key)) return;
  const srv = zone.rrset(key, T.SRV);
  if (!srv || msg.has(srv.name, T.SRV)) return;
  msg.add(msg.additional, srv);
  additionalFor(zone, msg, srv);
}

function addAddresses(zone: Zone, msg: Message, ns: RRset, glueOk: boolean): void {
  for (const rdata of ns.rdata) addTargetAddresses(zone, msg, nameFromWire(rdata, 0).name, glueOk);
}

function addTargetAddresses(zone: Zone, msg: Message, target: string, glueOk: boolean): void {
  const key = nameKey(target);
  if (!isSubdomainKey(key, zone.originKey)) return;
  if (!glueOk && belowCut(zone, key)) return;
  let rrsets = zone.node(key)?.rrsets;
  let owner: string | undefined;
  if (!rrsets && !zone.exists(key)) {
    for (let up = parent(key); up !== undefined && isSubdomainKey(up, zone.originKey); up = parent(up)) {
      if (!zone.exists(up)) continue;
      rrsets = zone.node(`*.${up}`)?.rrsets;
      owner = target;
      break;
    }
  }
  if (!rrsets) return;
  for (const type of [T.A, T.AAAA]) {
    const set = rrsets.get(type);
    if (!set) continue;
    const name = owner ?? set.name;
    if (msg.has(name, type)) continue;
    msg.add(msg.additional, set, name);
  }
}

function belowCut(zone: Zone, key: string): boolean {
  for (let up: string | undefined = key; up !== undefined && up !== zone.originKey; up = parent(up)) {
    if (zone.delegations.has(up)) return true;
  }
  return false;
}
