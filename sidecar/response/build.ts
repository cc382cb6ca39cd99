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
 *   minimal-responses allows; additional A/AAAA for NS, MX and SRV targets in the zone, each
 *   name/type at most once in the message.
 * - RRsets in canonical order (BIND rotates from there on each answer, see verify.ts).
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

type Section = WireRR[];

class Message {
  readonly answer: Section = [];
  readonly authority: Section = [];
  readonly additional: Section = [];
  private readonly present = new Set<string>();

  constructor(private readonly cls: number) {}

  add(section: Section, set: RRset, owner = set.name, ttl = set.ttl): void {
    this.present.add(`${nameKey(owner)}/${set.type}`);
    for (const rdata of set.rdata) section.push({ name: owner, type: set.type, class: this.cls, ttl, rdata });
  }

  has(owner: string, type: number): boolean {
    return this.present.has(`${nameKey(owner)}/${type}`);
  }
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

  for (const section of [msg.answer]) {
    for (const rr of [...section]) additionalFor(zone, msg, rr);
  }
  const omitAuthority = server.minimalResponses === 'yes' || server.minimalResponses === 'no-auth' || (server.minimalResponses === 'no-auth-recursive' && bits.rd);
  if (addAuthorityNs && !omitAuthority && !msg.has(zone.origin, T.NS)) {
    msg.add(msg.authority, zone.apexNs);
    addAddresses(zone, msg, zone.apexNs, false);
  }
  if (server.minimalResponses === 'yes' && kind !== 'referral') msg.additional.length = 0;

  let flags = 0x8000; // QR; opcode QUERY
  if (aa) flags |= 0x0400;
  if (bits.rd) flags |= 0x0100;
  if (bits.cd) flags |= 0x0010;
  flags |= rcode;
  const w = new MessageWriter();
  w.header(0, flags, [1, msg.answer.length, msg.authority.length, msg.additional.length + (bits.edns ? 1 : 0)]);
  w.question(qname, qtype, qclass);
  for (const rr of msg.answer) w.rr(rr);
  for (const rr of msg.authority) w.rr(rr);
  for (const rr of msg.additional) w.rr(rr);
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
    const node = zone.node(at);
    if (!node) continue;
    const ns = node.rrsets.get(T.NS);
    if (ns && at !== zone.originKey && !(at === key && qtype === T.DS)) return { kind: 'referral', cut: ns };
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
    const wild = zone.node(`*.${ancestors[i] === '.' ? '' : ancestors[i]}`);
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

/** Additional-section processing for one answer RR: addresses of NS, MX and SRV targets. */
function additionalFor(zone: Zone, msg: Message, rr: WireRR): void {
  let target: string | undefined;
  if (rr.type === T.NS) target = nameFromWire(rr.rdata, 0).name;
  else if (rr.type === T.MX) target = nameFromWire(rr.rdata, 2).name;
  else if (rr.type === T.SRV) target = nameFromWire(rr.rdata, 6).name;
  if (target !== undefined) addTargetAddresses(zone, msg, target, false);
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
