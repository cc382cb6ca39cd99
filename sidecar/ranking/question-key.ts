/**
 * The question a cache entry answers, and the event every query source (text query log,
 * dnstap) turns a query into. The flag bits are the ones in xdp/include/santa_abi.h
 * (SANTA_KEY_*): the query bits that make BIND send a different response for the same name.
 */

export const KEY_RD = 0x01; // SANTA_KEY_RD: minimal-responses no-auth-recursive drops authority
export const KEY_EDNS = 0x02; // SANTA_KEY_EDNS: an OPT record was sent, the reply carries one
export const KEY_DO = 0x04; // SANTA_KEY_DO: DNSSEC OK
/** SANTA_KEY_V6: the query came over IPv6; BIND orders A/AAAA glue by the client's family. */
export const KEY_V6 = 0x08;

export interface QuestionKey {
  /** Presentation form as BIND prints it (RFC 1035 escapes), ASCII lower-cased, no trailing
   * dot except for the root, which is ".". */
  readonly name: string;
  readonly qtype: number;
  readonly qclass: number;
  /** KEY_RD | KEY_EDNS | KEY_DO | KEY_V6 */
  readonly flags: number;
}

/** What a query source reports about one query. Fields beyond the key are for filtering
 * (a caller may want to ignore TCP or EDNS-version-1 queries) and diagnostics. */
export interface QueryEvent extends QuestionKey {
  /** EDNS version, or -1 when the query had no OPT record. */
  readonly ednsVersion: number;
  readonly tcp: boolean;
  /** Checking Disabled was set. */
  readonly cd: boolean;
  /** Signed with TSIG/SIG(0). */
  readonly signed: boolean;
  /** Client address as text, without port ("10.53.0.1", "fe80::1%eth0"); "" when unknown. */
  readonly client: string;
  readonly clientPort: number;
  /** Address the query was sent to; "" when unknown. */
  readonly destination: string;
  /** BIND view name, when the source says (the query log omits _default). */
  readonly view: string | undefined;
  /** The EDNS Client Subnet as BIND prints it ("198.51.100.0/24/0"), if any. */
  readonly ecs: string | undefined;
}

/** One string per distinct key, for use as a Map key. Space never appears in a
 * presentation-format name (BIND writes it as \032), so it is a safe separator. */
export function questionKeyId(k: QuestionKey): string {
  return k.name + ' ' + k.qtype + ' ' + k.qclass + ' ' + k.flags;
}

/** Lower-cases A-Z only, as DNS compares names; leaves escapes and other bytes alone.
 * (String.prototype.toLowerCase would also fold non-ASCII letters, which BIND escapes as
 * \DDD anyway, so it is used only when the name is pure ASCII.) */
export function dnsLowerCase(name: string): string {
  let hasUpper = false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c >= 65 && c <= 90) hasUpper = true;
    else if (c > 127) return asciiLowerCase(name);
  }
  return hasUpper ? name.toLowerCase() : name;
}

function asciiLowerCase(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    out += c >= 65 && c <= 90 ? String.fromCharCode(c + 32) : s[i];
  }
  return out;
}
