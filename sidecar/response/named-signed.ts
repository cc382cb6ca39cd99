/**
 * Answers for a zone named signs itself (`inline-signing yes`, with a `dnssec-policy` or its own
 * keys). The zone file holds the unsigned data; named serves a signed copy with records and a
 * serial of its own, and changes that copy whenever it re-signs, on its own schedule. What the
 * file cannot tell is therefore never built:
 * - DO=1 answers: they carry named's signatures and NSEC/NSEC3 proofs.
 * - Questions for the types named adds or manages (keys, signatures, denial records, the
 *   private signing-state records): their answers are named's, not the file's.
 * - Any answer with the SOA in it (the SOA question, NODATA, NXDOMAIN, a CNAME chain ending in
 *   either): its serial is the signed zone's, which named moves at every re-sign.
 * What remains (DO=0 data, referrals, CNAME chains to data) is the same in the signed copy as
 * in the file, and a re-sign does not change it; each answer is still checked against BIND's
 * own before it is installed, like every other.
 */
import { buildResponse, type BuiltResponse, type QueryBits, type ResponseQuestion, type ServerOptions } from './build';
import { decodeMessage } from './decode';
import type { Zone } from '../zone/model';
import { SIGNER_TYPES } from '../zone/transfer';
import { T, typeCode } from '../zone/types';


/** As buildResponse, for a zone named signs: only the answers its signing cannot change. */
export function buildForNamedSigner(zone: Zone, question: ResponseQuestion, bits: QueryBits, server: ServerOptions): BuiltResponse {
  if (bits.do) return refuse('named signs this zone: a DO=1 answer carries its signatures');
  const qtype = typeof question.type === 'number' ? question.type : typeCode(question.type);
  if (qtype !== undefined && SIGNER_TYPES.has(qtype)) return refuse('named signs this zone: it manages the records of this type');
  const built = buildResponse(zone, question, bits, server);
  if (!built.cacheable) return built;
  if (carriesSoa(built.complete ?? built.wire)) return refuse("named signs this zone: the answer carries the SOA, whose serial named's signer sets");
  return built;
}

/** The builder for a zone: named's signer or the zone file alone decides what BIND serves. */
export function builderFor(signedByNamed: boolean | undefined): typeof buildResponse {
  return signedByNamed ? buildForNamedSigner : buildResponse;
}

function carriesSoa(wire: Buffer): boolean {
  const m = decodeMessage(wire);
  return [...m.answer, ...m.authority, ...m.additional].some((rr) => rr.type === T.SOA);
}

function refuse(reason: string): BuiltResponse {
  return { cacheable: false, reason };
}
