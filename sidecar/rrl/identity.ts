/**
 * The rate-limiting identity of a cached response: which of BIND's RRL token buckets a reply
 * draws on (per client netblock). A pure function of the response message, which carries its
 * question; the XDP program reads the result from the cache entry (santa_value.rrl_kind,
 * rrl_id).
 *
 * BIND (ns/query.c query_checkrrl, lib/dns/rrl.c make_key) classifies a response by the
 * lookup result and keys it as follows; here the response's own sections stand in for the
 * lookup result:
 *   NXDOMAIN (rcode 3)           -> the zone: owner of the SOA in the authority section
 *   NOERROR with answers         -> RESPONSE: qname, qtype, qclass
 *   NOERROR, empty, AA set       -> NODATA: qname, qclass
 *   NOERROR, empty, AA clear, NS -> REFERRAL: the delegation point (NS owner), qclass
 *   any other rcode              -> ERROR: no name (BIND passes none for errors)
 */
import { lowerWireName } from '../bpf/dns-wire';

export enum RrlKind {
  Response = 0,
  Nxdomain = 1,
  Nodata = 2,
  Referral = 3,
  Error = 4,
}

export interface RrlIdentity {
  kind: RrlKind;
  /** 32-bit hash of the identity; 0 for errors. */
  id: number;
}

const HEADER = 12;
const TYPE_NS = 2;
const TYPE_SOA = 6;
const FLAG_AA = 0x0400;
const RCODE_NOERROR = 0;
const RCODE_NXDOMAIN = 3;

export class RrlIdentityError extends Error {
  constructor(problem: string, offset: number) {
    super(`DNS response, byte ${offset}: ${problem}`);
    this.name = 'RrlIdentityError';
  }
}

/** The identity of `response`, a complete DNS message as BIND sent it. */
export function rrlIdentity(response: Uint8Array): RrlIdentity {
  const msg = Buffer.from(response.buffer, response.byteOffset, response.length);
  if (msg.length < HEADER) throw new RrlIdentityError('shorter than a DNS header', 0);
  const flags = msg.readUInt16BE(2);
  const qdcount = msg.readUInt16BE(4);
  const ancount = msg.readUInt16BE(6);
  const nscount = msg.readUInt16BE(8);
  if (qdcount !== 1) throw new RrlIdentityError(`${qdcount} questions, not 1`, 4);
  const qname = readName(msg, HEADER);
  if (qname.end + 4 > msg.length) throw new RrlIdentityError('question runs past the end', qname.end);
  const qtype = msg.readUInt16BE(qname.end);
  const qclass = msg.readUInt16BE(qname.end + 2);
  const rcode = flags & 0xf; // extended rcodes (in the OPT) are all errors too

  if (rcode !== RCODE_NOERROR && rcode !== RCODE_NXDOMAIN) return { kind: RrlKind.Error, id: 0 };
  const authority = authorityOwners(msg, qname.end + 4, ancount, nscount);
  if (rcode === RCODE_NXDOMAIN) {
    const zone = authority.find((r) => r.type === TYPE_SOA)?.owner ?? qname.name;
    return { kind: RrlKind.Nxdomain, id: identityHash(RrlKind.Nxdomain, zone) };
  }
  if (ancount > 0) return { kind: RrlKind.Response, id: identityHash(RrlKind.Response, qname.name, qtype, qclass) };
  const ns = authority.find((r) => r.type === TYPE_NS);
  if (!(flags & FLAG_AA) && ns) return { kind: RrlKind.Referral, id: identityHash(RrlKind.Referral, ns.owner, 0, qclass) };
  return { kind: RrlKind.Nodata, id: identityHash(RrlKind.Nodata, qname.name, 0, qclass) };
}

/**
 * FNV-1a over the kind, the lower-cased wire name, type and class. Never 0, which marks "no
 * identity" (errors); collisions only merge two buckets, which can limit more, never less.
 */
export function identityHash(kind: RrlKind, wireName: Uint8Array, type = 0, klass = 0): number {
  let h = 0x811c9dc5;
  const mix = (byte: number) => {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  };
  mix(kind);
  for (const b of lowerWireName(wireName)) mix(b);
  mix(type >> 8);
  mix(type & 0xff);
  mix(klass >> 8);
  mix(klass & 0xff);
  return h === 0 ? 1 : h;
}

interface Owner {
  owner: Buffer;
  type: number;
}

/** Owner names and types of the authority section, skipping the answers. */
function authorityOwners(msg: Buffer, start: number, ancount: number, nscount: number): Owner[] {
  const out: Owner[] = [];
  let off = start;
  for (let i = 0; i < ancount + nscount; i++) {
    const owner = readName(msg, off);
    if (owner.end + 10 > msg.length) throw new RrlIdentityError('record header runs past the end', owner.end);
    const type = msg.readUInt16BE(owner.end);
    const rdlength = msg.readUInt16BE(owner.end + 8);
    off = owner.end + 10 + rdlength;
    if (off > msg.length) throw new RrlIdentityError('RDATA runs past the end', owner.end + 10);
    if (i >= ancount) out.push({ owner: owner.name, type });
  }
  return out;
}

/** A possibly compressed name at `offset`: its uncompressed wire form and where it ends. */
function readName(msg: Buffer, offset: number): { name: Buffer; end: number } {
  const labels: Buffer[] = [];
  let at = offset;
  let end = -1;
  let length = 0;
  for (let hops = 0; ; ) {
    if (at >= msg.length) throw new RrlIdentityError('name runs past the end', at);
    const len = msg[at];
    if ((len & 0xc0) === 0xc0) {
      if (at + 1 >= msg.length) throw new RrlIdentityError('truncated compression pointer', at);
      if (end < 0) end = at + 2;
      const target = ((len & 0x3f) << 8) | msg[at + 1];
      // Pointers must go backwards; a bound on hops also stops loops.
      if (target >= at || ++hops > 127) throw new RrlIdentityError('compression pointer loops or points forward', at);
      at = target;
      continue;
    }
    if (len > 63) throw new RrlIdentityError(`label type 0x${len.toString(16)}`, at);
    if (at + 1 + len > msg.length) throw new RrlIdentityError('label runs past the end', at);
    labels.push(msg.subarray(at, at + 1 + len));
    length += 1 + len;
    if (length > 255) throw new RrlIdentityError('name longer than 255 bytes', offset);
    if (len === 0) {
      if (end < 0) end = at + 1;
      return { name: Buffer.concat(labels), end };
    }
    at += 1 + len;
  }
}
