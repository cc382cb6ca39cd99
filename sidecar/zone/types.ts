/** RR type and class mnemonics (IANA registry) and BIND's TYPEnnn / CLASSnnn generic forms. */

const TYPES: Record<string, number> = Object.assign(Object.create(null) as Record<string, number>, {
  A: 1, NS: 2, MD: 3, MF: 4, CNAME: 5, SOA: 6, MB: 7, MG: 8, MR: 9, NULL: 10, WKS: 11, PTR: 12,
  HINFO: 13, MINFO: 14, MX: 15, TXT: 16, RP: 17, AFSDB: 18, X25: 19, ISDN: 20, RT: 21, NSAP: 22,
  'NSAP-PTR': 23, SIG: 24, KEY: 25, PX: 26, GPOS: 27, AAAA: 28, LOC: 29, NXT: 30, EID: 31,
  NIMLOC: 32, SRV: 33, ATMA: 34, NAPTR: 35, KX: 36, CERT: 37, A6: 38, DNAME: 39, SINK: 40,
  OPT: 41, APL: 42, DS: 43, SSHFP: 44, IPSECKEY: 45, RRSIG: 46, NSEC: 47, DNSKEY: 48, DHCID: 49,
  NSEC3: 50, NSEC3PARAM: 51, TLSA: 52, SMIMEA: 53, HIP: 55, NINFO: 56, RKEY: 57, TALINK: 58,
  CDS: 59, CDNSKEY: 60, OPENPGPKEY: 61, CSYNC: 62, ZONEMD: 63, SVCB: 64, HTTPS: 65, SPF: 99,
  UINFO: 100, UID: 101, GID: 102, UNSPEC: 103, NID: 104, L32: 105, L64: 106, LP: 107,
  EUI48: 108, EUI64: 109, TKEY: 249, TSIG: 250, IXFR: 251, AXFR: 252, MAILB: 253, MAILA: 254,
  ANY: 255, URI: 256, CAA: 257, AVC: 258, DOA: 259, AMTRELAY: 260, TA: 32768, DLV: 32769,
});

const TYPE_NAMES = new Map<number, string>(Object.entries(TYPES).map(([k, v]) => [v, k]));

export const CLASSES: Record<string, number> = Object.assign(Object.create(null) as Record<string, number>, { IN: 1, CH: 3, HS: 4, NONE: 254, ANY: 255 });
const CLASS_NAMES = new Map<number, string>(Object.entries(CLASSES).map(([k, v]) => [v, k]));

/** Type code for a mnemonic or TYPEnnn (case-insensitive); undefined when it is neither. */
export function typeCode(text: string): number | undefined {
  const exact = TYPES[text];
  if (exact !== undefined) return exact;
  const upper = text.toUpperCase();
  const known = TYPES[upper];
  if (known !== undefined) return known;
  if (!upper.startsWith('TYPE')) return undefined;
  const m = /^TYPE(\d{1,5})$/.exec(upper);
  if (m && Number(m[1]) <= 0xffff) return Number(m[1]);
  return undefined;
}

export function typeName(code: number): string {
  return TYPE_NAMES.get(code) ?? `TYPE${code}`;
}

export function classCode(text: string): number | undefined {
  const exact = CLASSES[text];
  if (exact !== undefined) return exact;
  if (text.length < 2) return undefined;
  const upper = text.toUpperCase();
  const known = CLASSES[upper];
  if (known !== undefined) return known;
  if (!upper.startsWith('CLASS')) return undefined;
  const m = /^CLASS(\d{1,5})$/.exec(upper);
  if (m && Number(m[1]) <= 0xffff) return Number(m[1]);
  return undefined;
}

export function className(code: number): string {
  return CLASS_NAMES.get(code) ?? `CLASS${code}`;
}

/** Types whose RDATA names BIND compresses in responses (RFC 1035's well-known types, RFC 3597 s4). */
export const COMPRESSIBLE_RDATA = new Set([TYPES.NS, TYPES.CNAME, TYPES.SOA, TYPES.PTR, TYPES.MX, TYPES.MB, TYPES.MG, TYPES.MR, TYPES.MD, TYPES.MF, TYPES.MINFO]);

/** Meta types and those only the query side uses: never stored in a zone. */
export const META_TYPES = new Set([TYPES.OPT, TYPES.TKEY, TYPES.TSIG, TYPES.IXFR, TYPES.AXFR, TYPES.MAILB, TYPES.MAILA, TYPES.ANY]);

export const T = TYPES;
