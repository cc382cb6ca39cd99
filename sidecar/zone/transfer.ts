/**
 * A zone model from a zone transfer (AXFR, RFC 5936): the zone exactly as BIND serves it, which
 * for a zone named signs itself (inline-signing) is the signed copy no file holds. And the check
 * that such a copy is the signed form of the file Santa read, so data named has not loaded yet
 * is never taken for data it serves.
 *
 * Pure: messages in, model out (the transfer itself is in dns/axfr.ts).
 */
import { decodeMessage, type DecodedRR } from '../response/decode';
import { nameToWire } from './name';
import { parseZoneText } from './parse';
import type { RRset, Zone } from './model';
import { T, typeName } from './types';

export class TransferError extends Error {
  constructor(zone: string, reason: string) {
    super(`zone transfer of ${zone}: ${reason}`);
    this.name = 'TransferError';
  }
}

const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET', 'NXRRSET', 'NOTAUTH', 'NOTZONE'];

/**
 * The records of a complete AXFR response stream: the SOA, every record, the SOA again (RFC 5936
 * 2.2). Throws TransferError for an error rcode, records of another zone or class, or a stream
 * that does not end with the SOA it began with.
 */
export function transferRecords(origin: string, messages: readonly Buffer[]): DecodedRR[] {
  const zoneWire = nameToWire(absolute(origin)).toString('latin1').toLowerCase();
  const records: DecodedRR[] = [];
  for (const [i, raw] of messages.entries()) {
    const rcode = raw.length >= 4 ? raw[3] & 0x0f : -1;
    if (rcode !== 0) throw new TransferError(origin, `message ${i + 1} has rcode ${RCODES[rcode] ?? rcode}${rcode === 5 ? ' (allow-transfer must admit Santa)' : ''}`);
    records.push(...decodeMessage(raw).answer);
  }
  const first = records[0];
  const last = records[records.length - 1];
  if (!first || first.type !== T.SOA) throw new TransferError(origin, 'does not begin with the SOA');
  if (records.length < 2 || last.type !== T.SOA || !last.rdata.equals(first.rdata)) throw new TransferError(origin, 'does not end with the SOA it began with (cut short?)');
  for (const rr of records) {
    if (rr.class !== 1) throw new TransferError(origin, `record of class ${rr.class} at ${rr.name}`);
    const wire = nameToWire(rr.name).toString('latin1').toLowerCase();
    if (!wire.endsWith(zoneWire)) throw new TransferError(origin, `record outside the zone: ${rr.name}`);
  }
  return records.slice(0, -1);
}

/** The zone a complete AXFR response stream carries. `source` names it in error messages. */
export function zoneFromTransfer(origin: string, messages: readonly Buffer[], source: string): Zone {
  // Every record in RFC 3597 generic form: the zone parser reads it back byte for byte, and no
  // presentation format (of types it may not know) stands between the wire and the model.
  const lines = transferRecords(origin, messages).map((rr) => `${rr.name} ${rr.ttl} IN TYPE${rr.type} \\# ${rr.rdata.length} ${rr.rdata.toString('hex') || ''}`);
  return parseZoneText(lines.join('\n') + '\n', absolute(origin), source, () => {
    throw new TransferError(origin, 'a transfer has no includes');
  });
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
  let at = 0;
  for (let names = 0; names < 2; names++) {
    while (rdata[at] !== 0) at += rdata[at] + 1;
    at += 1;
  }
  return Buffer.concat([rdata.subarray(0, at), rdata.subarray(at + 4)]);
}

function absolute(name: string): string {
  return name.endsWith('.') ? name : `${name}.`;
}
