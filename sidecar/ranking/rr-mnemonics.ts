/**
 * RR type and class mnemonics as BIND 9.18 prints them (lib/dns rdatatype/rdataclass
 * tables), with the RFC 3597 TYPEnnn / CLASSnnn forms for everything else.
 */

const TYPES: ReadonlyArray<readonly [string, number]> = [
  ['A', 1], ['NS', 2], ['MD', 3], ['MF', 4], ['CNAME', 5], ['SOA', 6], ['MB', 7], ['MG', 8],
  ['MR', 9], ['NULL', 10], ['WKS', 11], ['PTR', 12], ['HINFO', 13], ['MINFO', 14], ['MX', 15],
  ['TXT', 16], ['RP', 17], ['AFSDB', 18], ['X25', 19], ['ISDN', 20], ['RT', 21], ['NSAP', 22],
  ['NSAP-PTR', 23], ['SIG', 24], ['KEY', 25], ['PX', 26], ['GPOS', 27], ['AAAA', 28],
  ['LOC', 29], ['NXT', 30], ['EID', 31], ['NIMLOC', 32], ['SRV', 33], ['ATMA', 34],
  ['NAPTR', 35], ['KX', 36], ['CERT', 37], ['A6', 38], ['DNAME', 39], ['SINK', 40],
  ['OPT', 41], ['APL', 42], ['DS', 43], ['SSHFP', 44], ['IPSECKEY', 45], ['RRSIG', 46],
  ['NSEC', 47], ['DNSKEY', 48], ['DHCID', 49], ['NSEC3', 50], ['NSEC3PARAM', 51],
  ['TLSA', 52], ['SMIMEA', 53], ['HIP', 55], ['NINFO', 56], ['RKEY', 57], ['TALINK', 58],
  ['CDS', 59], ['CDNSKEY', 60], ['OPENPGPKEY', 61], ['CSYNC', 62], ['ZONEMD', 63],
  ['SVCB', 64], ['HTTPS', 65], ['SPF', 99], ['UINFO', 100], ['UID', 101], ['GID', 102],
  ['UNSPEC', 103], ['NID', 104], ['L32', 105], ['L64', 106], ['LP', 107], ['EUI48', 108],
  ['EUI64', 109], ['TKEY', 249], ['TSIG', 250], ['IXFR', 251], ['AXFR', 252], ['MAILB', 253],
  ['MAILA', 254], ['ANY', 255], ['URI', 256], ['CAA', 257], ['AVC', 258], ['DOA', 259],
  ['AMTRELAY', 260], ['RESINFO', 261], ['TA', 32768], ['DLV', 32769], ['KEYDATA', 65533],
];

const CLASSES: ReadonlyArray<readonly [string, number]> = [
  ['IN', 1], ['CH', 3], ['HS', 4], ['NONE', 254], ['ANY', 255],
];

const typeByName = new Map<string, number>(TYPES);
const typeNames = new Map<number, string>(TYPES.map(([n, v]) => [v, n]));
const classByName = new Map<string, number>(CLASSES);
const classNames = new Map<number, string>(CLASSES.map(([n, v]) => [v, n]));

/** RR type number for a mnemonic BIND prints, or -1. Case-insensitive like master files. */
export function rrTypeFromText(text: string): number {
  const known = typeByName.get(text);
  if (known !== undefined) return known;
  return fromText(text, 'TYPE', typeByName);
}

export function rrClassFromText(text: string): number {
  const known = classByName.get(text);
  if (known !== undefined) return known;
  return fromText(text, 'CLASS', classByName);
}

export function rrTypeToText(type: number): string {
  return typeNames.get(type) ?? `TYPE${type}`;
}

export function rrClassToText(cls: number): string {
  return classNames.get(cls) ?? `CLASS${cls}`;
}

function fromText(text: string, generic: string, names: Map<string, number>): number {
  const upper = text.toUpperCase();
  const known = names.get(upper);
  if (known !== undefined) return known;
  if (!upper.startsWith(generic) || upper.length === generic.length) return -1;
  let value = 0;
  for (let i = generic.length; i < upper.length; i++) {
    const d = upper.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    value = value * 10 + d;
    if (value > 0xffff) return -1;
  }
  return value;
}
