/**
 * A zone model from a zone transfer (AXFR, RFC 5936): the zone exactly as BIND serves it, which
 * for a zone named signs itself (inline-signing) is the signed copy no file holds. And the check
 * that such a copy is the signed form of the file Santa read, so data named has not loaded yet
 * is never taken for data it serves.
 *
 * Pure: messages in, model out (the transfer itself is in dns/axfr.ts).
 */
import { DecodeError, readNameWire, uncompressedRdata } from '../response/decode';
import { nameFromWire, nameToWire } from './name';
import { isSubdomainWire } from './name-table';
import { zoneFromWireRecords, type WireRecord } from './parse';
import { soaSerialOffset, type RRset, type Zone } from './model';
import { T, typeName } from './types';

export class TransferError extends Error {
  constructor(zone: string, reason: string) {
    super(`zone transfer of ${zone}: ${reason}`);
    this.name = 'TransferError';
  }
}

const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET', 'NXRRSET', 'NOTAUTH', 'NOTZONE'];

/**
 * The records of a complete AXFR response stream (RFC 5936 2.2: the SOA, every record, the SOA
 * again), read a message at a time, without the closing SOA. Throws TransferError, while it is
 * read, for an error rcode, records of another zone or class, or a stream that does not end with
 * the SOA it began with.
 */
export function* transferRecords(origin: string, messages: readonly Buffer[]): Generator<WireRecord> {
  const originWire = nameToWire(absolute(origin));
  let soa: Buffer | undefined;
  let closed = false;
  for (const [i, raw] of messages.entries()) {
    const rcode = raw.length >= 4 ? raw[3] & 0x0f : -1;
    if (rcode !== 0) throw new TransferError(origin, `message ${i + 1} has rcode ${RCODES[rcode] ?? rcode}${rcode === 5 ? ' (allow-transfer must admit Santa)' : ''}`);
    for (const rr of answerRecords(raw)) {
      if (closed) throw new TransferError(origin, 'records after the closing SOA');
      if (soa === undefined) {
        if (rr.type !== T.SOA) throw new TransferError(origin, 'does not begin with the SOA');
        soa = rr.rdata;
      } else if (rr.type === T.SOA) {
        if (!rr.rdata.equals(soa)) throw new TransferError(origin, 'does not end with the SOA it began with');
        closed = true;
        continue;
      }
      if (rr.class !== 1) throw new TransferError(origin, `record of class ${rr.class} at ${nameFromWire(rr.owner, 0).name}`);
      if (!isSubdomainWire(rr.owner, 0, rr.owner.length, originWire)) throw new TransferError(origin, `record outside the zone: ${nameFromWire(rr.owner, 0).name}`);
      yield rr;
    }
  }
  if (!closed) throw new TransferError(origin, 'does not end with the SOA it began with (cut short?)');
}

/** The answer section of one message, names and RDATA uncompressed. */
function* answerRecords(msg: Buffer): Generator<WireRecord & { class: number }> {
  if (msg.length < 12) throw new DecodeError(0, 'shorter than a DNS header');
  let at = 12;
  for (let q = msg.readUInt16BE(4); q > 0; q--) at = readNameWire(msg, at).end + 4;
  for (let n = msg.readUInt16BE(6); n > 0; n--) {
    const { wire: owner, end } = readNameWire(msg, at);
    if (end + 10 > msg.length) throw new DecodeError(end, 'RR header runs past the end');
    const type = msg.readUInt16BE(end);
    const rdlength = msg.readUInt16BE(end + 8);
    if (end + 10 + rdlength > msg.length) throw new DecodeError(end + 10, 'RDATA runs past the end');
    yield { owner, type, class: msg.readUInt16BE(end + 2), ttl: msg.readUInt32BE(end + 4), rdata: uncompressedRdata(msg, type, end + 10, rdlength) };
    at = end + 10 + rdlength;
  }
}

/** The zone a complete AXFR response stream carries. `source` names it in error messages. */
export function zoneFromTransfer(origin: string, messages: readonly Buffer[], source: string): Zone {
  return zoneFromWireRecords(absolute(origin), transferRecords(origin, messages), source);
}

/** named's default sig-signing-type: the private records that track signing in progress. */
const SIGNING_STATE_TYPE = 65534;

/** What named adds to or manages in a zone it signs (keys, signatures, denial records). */
export const SIGNER_TYPES: ReadonlySet<number> = new Set<number>([T.DNSKEY, T.CDS, T.CDNSKEY, T.RRSIG, T.NSEC, T.NSEC3, T.NSEC3PARAM, SIGNING_STATE_TYPE]);

/**
 * Whether `signed` (the zone as named serves it) is the signed form of `unsigned` (its file):
 * the same records but for what signing adds, and the same SOA but for the serial. The first
 * difference found, or null when there is none.
 */
export function signedFormDiffers(unsigned: Zone, signed: Zone): string | null {
  if (unsigned.dataDigest(SIGNER_TYPES) === signed.dataDigest(SIGNER_TYPES)) return null;
  // They differ: say where, when the zone is small enough to look record by record.
  if (unsigned.nameCount > DETAIL_LIMIT) return 'its records differ from the file\'s';
  return firstDifference(unsigned, signed) ?? "its records differ from the file's";
}

/** Zones up to this many names get the first difference named (building every node is slow). */
const DETAIL_LIMIT = 50_000;

function firstDifference(unsigned: Zone, signed: Zone): string | null {
  const soaA = withoutSerial(unsigned.soa);
  const soaB = withoutSerial(signed.soa);
  if (unsigned.soa.ttl !== signed.soa.ttl || !soaA.equals(soaB)) return 'the SOA differs (beyond the serial)';
  for (const [key, node] of unsigned.nodes) {
    const other = signed.nodes.get(key);
    for (const [type, set] of node.rrsets) {
      if (SIGNER_TYPES.has(type) || type === T.SOA) continue;
      const theirs = other?.rrsets.get(type);
      if (!theirs) return `${node.name} ${typeName(type)} is not served`;
      if (!sameRRset(set, theirs)) return `${node.name} ${typeName(type)} is served with other data or TTL`;
    }
  }
  for (const [key, node] of signed.nodes) {
    for (const type of node.rrsets.keys()) {
      if (SIGNER_TYPES.has(type) || type === T.SOA) continue;
      if (!unsigned.nodes.get(key)?.rrsets.has(type)) return `${node.name} ${typeName(type)} is served but not in the file`;
    }
  }
  return null;
}

function sameRRset(a: RRset, b: RRset): boolean {
  return a.ttl === b.ttl && a.rdata.length === b.rdata.length && a.rdata.every((r, i) => r.equals(b.rdata[i]));
}

/** SOA RDATA without its serial (MNAME, RNAME, then serial and four more 32-bit fields). */
function withoutSerial(soa: RRset): Buffer {
  const rdata = soa.rdata[0];
  const at = soaSerialOffset(rdata);
  return Buffer.concat([rdata.subarray(0, at), rdata.subarray(at + 4)]);
}

function absolute(name: string): string {
  return name.endsWith('.') ? name : `${name}.`;
}
