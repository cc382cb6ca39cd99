/**
 * RDATA in presentation form (the tokens after the type in a zone file) to uncompressed wire
 * form, the canonical form the zone model stores and the response writer compresses from.
 * Each type's syntax follows its RFC and what BIND's zone loader accepts; any type may also use
 * the RFC 3597 generic form `\# <length> <hex>`.
 */
import { ByteWriter } from './bytes';
import { nameToWire, parseName, NameError } from './name';
import { T, typeCode, typeName } from './types';

export interface Token {
  text: string;
  quoted: boolean;
}

export class RdataError extends Error {}

/** Cursor over the RDATA tokens of one record, with typed readers that say what they expected. */
class Fields {
  constructor(
    private readonly tokens: Token[],
    private readonly origin: string,
    private at: number,
  ) {}
  get remaining(): number {
    return this.tokens.length - this.at;
  }
  next(what: string): Token {
    const t = this.tokens[this.at++];
    if (!t) throw new RdataError(`missing ${what}`);
    return t;
  }
  word(what: string): string {
    const t = this.next(what);
    if (t.quoted) throw new RdataError(`${what} must not be quoted`);
    return t.text;
  }
  int(what: string, max: number): number {
    const text = this.word(what);
    if (!/^\d+$/.test(text) || Number(text) > max) throw new RdataError(`${what}: expected a number from 0 to ${max}, got '${text}'`);
    return Number(text);
  }
  name(what: string): Buffer {
    const text = this.word(what);
    try {
      return nameToWire(parseName(text, this.origin));
    } catch (e) {
      if (e instanceof NameError) throw new RdataError(`${what}: ${e.message}`);
      throw e;
    }
  }
  /** All remaining tokens joined, for base64/hex fields that may be split by spaces. */
  rest(what: string): string {
    if (this.remaining === 0) throw new RdataError(`missing ${what}`);
    const parts: string[] = [];
    while (this.remaining > 0) parts.push(this.word(what));
    return parts.join('');
  }
  end(type: string): void {
    if (this.remaining > 0) throw new RdataError(`${type}: unexpected extra field '${this.tokens[this.at].text}'`);
  }
}

/** Decodes `\X` and `\DDD` escapes of a character-string into bytes. */
export function unescapeText(text: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5c) {
      const d = text.slice(i + 1, i + 4);
      if (/^\d{3}$/.test(d)) {
        if (Number(d) > 255) throw new RdataError(`bad escape \\${d}`);
        out.push(Number(d));
        i += 3;
      } else if (i + 1 < text.length) {
        out.push(text.charCodeAt(++i));
      } else {
        throw new RdataError('string ends in a lone backslash');
      }
    } else if (c > 0x7f) {
      out.push(...Buffer.from(text[i], 'utf8'));
    } else {
      out.push(c);
    }
  }
  return out;
}

function characterString(w: ByteWriter, t: Token, what: string): void {
  const bytes = unescapeText(t.text);
  if (bytes.length > 255) throw new RdataError(`${what} is longer than 255 bytes`);
  w.u8(bytes.length);
  w.bytes(bytes);
}

/** Dotted-quad IPv4 as inet_pton reads it (four decimal parts, no leading zeros). */
function ipv4(text: string): number[] {
  const out: number[] = [];
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 0x2e;
    if (c === 0x2e) {
      if (digits === 0 || value > 255 || out.length === 4) throw new RdataError(`bad IPv4 address '${text}'`);
      out.push(value);
      value = 0;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39) {
      if (digits > 0 && value === 0) throw new RdataError(`bad IPv4 address '${text}'`);
      value = value * 10 + (c - 0x30);
      digits++;
    } else {
      throw new RdataError(`bad IPv4 address '${text}'`);
    }
  }
  if (out.length !== 4) throw new RdataError(`bad IPv4 address '${text}'`);
  return out;
}

/** Parses colon-separated hex groups ("" gives none) into `out`; false if one is malformed. */
function hexGroups(part: string, out: number[]): boolean {
  if (part === '') return true;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= part.length; i++) {
    const c = i < part.length ? part.charCodeAt(i) : 0x3a;
    if (c === 0x3a) {
      if (digits === 0) return false;
      out.push(value);
      value = 0;
      digits = 0;
      continue;
    }
    const v = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : -1;
    if (v < 0 || ++digits > 4) return false;
    value = (value << 4) | v;
  }
  return true;
}

/** IPv6 in any RFC 4291 text form, including `::` and a trailing dotted quad. */
function ipv6(text: string): number[] {
  let s = text;
  let tail: number[] | undefined;
  const lastColon = s.lastIndexOf(':');
  if (lastColon < 0) throw new RdataError(`bad IPv6 address '${text}'`);
  if (s.indexOf('.', lastColon) >= 0) {
    try {
      tail = ipv4(s.slice(lastColon + 1));
    } catch {
      throw new RdataError(`bad IPv6 address '${text}'`);
    }
    s = `${s.slice(0, lastColon + 1)}0:0`;
  }
  const gap = s.indexOf('::');
  const left: number[] = [];
  const right: number[] = [];
  const ok =
    (gap < 0 || s.indexOf('::', gap + 1) < 0) &&
    hexGroups(gap < 0 ? s : s.slice(0, gap), left) &&
    (gap < 0 || hexGroups(s.slice(gap + 2), right)) &&
    (gap < 0 ? left.length === 8 : left.length + right.length <= 7);
  if (!ok) throw new RdataError(`bad IPv6 address '${text}'`);
  const out: number[] = [];
  for (const g of left) out.push(g >> 8, g & 0xff);
  for (let i = left.length + right.length; i < 8; i++) out.push(0, 0);
  for (const g of right) out.push(g >> 8, g & 0xff);
  if (tail) out.splice(12, 4, ...tail);
  return out;
}

function hex(text: string, what: string): Buffer {
  if (!/^([0-9a-fA-F]{2})*$/.test(text)) throw new RdataError(`${what}: bad hexadecimal '${text}'`);
  return Buffer.from(text, 'hex');
}

function base64(text: string, what: string): Buffer {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) throw new RdataError(`${what}: bad base64`);
  return Buffer.from(text, 'base64');
}

const BASE32HEX = '0123456789ABCDEFGHIJKLMNOPQRSTUV';

function base32hex(text: string, what: string): number[] {
  const out: number[] = [];
  let bits = 0;
  let value = 0;
  for (const ch of text.toUpperCase()) {
    const v = BASE32HEX.indexOf(ch);
    if (v < 0) throw new RdataError(`${what}: bad base32hex '${text}'`);
    value = (value << 5) | v;
    bits += 5;
    if (bits >= 8) {
      out.push((value >> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  if (bits >= 5 || (value & ((1 << bits) - 1)) !== 0) throw new RdataError(`${what}: bad base32hex length '${text}'`);
  return out;
}

function typeBitmap(w: ByteWriter, f: Fields): void {
  const codes = new Set<number>();
  while (f.remaining > 0) {
    const text = f.word('type');
    const code = typeCode(text);
    if (code === undefined) throw new RdataError(`unknown type '${text}' in type bitmap`);
    codes.add(code);
  }
  const windows = new Map<number, number[]>();
  for (const code of [...codes].sort((a, b) => a - b)) {
    const bitmap = windows.get(code >> 8) ?? [];
    const octet = (code & 0xff) >> 3;
    while (bitmap.length <= octet) bitmap.push(0);
    bitmap[octet] |= 0x80 >> (code & 7);
    windows.set(code >> 8, bitmap);
  }
  for (const [window, bitmap] of windows) {
    w.u8(window);
    w.u8(bitmap.length);
    w.bytes(bitmap);
  }
}

function sigTime(text: string): number {
  if (/^\d{14}$/.test(text)) {
    const t = Date.UTC(+text.slice(0, 4), +text.slice(4, 6) - 1, +text.slice(6, 8), +text.slice(8, 10), +text.slice(10, 12), +text.slice(12, 14));
    // Date.UTC rolls over out-of-range fields (month 13): a round trip catches them.
    if (new Date(t).toISOString().replace(/[-T:]/g, '').slice(0, 14) === text) return (t / 1000) % 2 ** 32;
  }
  if (/^\d{1,10}$/.test(text) && Number(text) < 2 ** 32) return Number(text);
  throw new RdataError(`bad signature time '${text}'`);
}

const SVC_KEYS: Record<string, number> = { mandatory: 0, alpn: 1, 'no-default-alpn': 2, port: 3, ipv4hint: 4, ech: 5, ipv6hint: 6, dohpath: 7, ohttp: 8 };

function svcKey(text: string): number {
  const known = SVC_KEYS[text.toLowerCase()];
  if (known !== undefined) return known;
  const m = /^key(\d{1,5})$/i.exec(text);
  if (m && Number(m[1]) < 65535) return Number(m[1]);
  throw new RdataError(`unknown SvcParamKey '${text}'`);
}

/** Splits a comma list where `\,` (or `\\`) escapes a comma, as RFC 9460 appendix A allows. */
function commaList(bytes: number[]): number[][] {
  const items: number[][] = [[]];
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 0x5c && i + 1 < bytes.length) items[items.length - 1].push(bytes[++i]);
    else if (bytes[i] === 0x2c) items.push([]);
    else items[items.length - 1].push(bytes[i]);
  }
  return items;
}

function svcParams(w: ByteWriter, f: Fields): void {
  const params = new Map<number, number[]>();
  while (f.remaining > 0) {
    const t = f.next('SvcParam');
    const eq = t.text.indexOf('=');
    const keyText = eq < 0 ? t.text : t.text.slice(0, eq);
    let valueText = eq < 0 ? undefined : t.text.slice(eq + 1);
    if (valueText !== undefined && valueText.length >= 2 && valueText.startsWith('"') && valueText.endsWith('"')) valueText = valueText.slice(1, -1);
    if (valueText === '' && f.remaining > 0) valueText = f.next('SvcParam value').text;
    const key = svcKey(keyText);
    if (params.has(key)) throw new RdataError(`duplicate SvcParamKey '${keyText}'`);
    const raw = valueText === undefined ? undefined : valueText;
    const value: number[] = [];
    switch (key) {
      case 0:
        for (const item of (raw ?? '').split(',')) value.push(svcKey(item) >> 8, svcKey(item) & 0xff);
        break;
      case 1:
        if (!raw) throw new RdataError('alpn needs a value');
        // Values were unescaped once as a character-string, then the comma list escapes apply.
        for (const id of commaList(unescapeText(raw.replace(/\\\\/g, '\\\\\\\\')))) {
          if (id.length === 0 || id.length > 255) throw new RdataError('bad alpn identifier');
          value.push(id.length, ...id);
        }
        break;
      case 2:
        if (raw !== undefined) throw new RdataError('no-default-alpn takes no value');
        break;
      case 3:
        if (!raw || !/^\d+$/.test(raw) || Number(raw) > 65535) throw new RdataError(`bad port '${raw ?? ''}'`);
        value.push(Number(raw) >> 8, Number(raw) & 0xff);
        break;
      case 4:
        for (const a of (raw ?? '').split(',')) value.push(...ipv4(a));
        break;
      case 5:
        value.push(...base64(raw ?? '', 'ech'));
        break;
      case 6:
        for (const a of (raw ?? '').split(',')) value.push(...ipv6(a));
        break;
      default:
        if (raw !== undefined) value.push(...unescapeText(raw));
    }
    params.set(key, value);
  }
  for (const key of [...params.keys()].sort((a, b) => a - b)) {
    const value = params.get(key) as number[];
    w.u16(key);
    w.u16(value.length);
    w.bytes(value);
  }
}

type Encoder = (w: ByteWriter, f: Fields) => void;

const nameOnly: Encoder = (w, f) => w.bytes(f.name('target name'));
const txt: Encoder = (w, f) => {
  if (f.remaining === 0) throw new RdataError('missing text');
  while (f.remaining > 0) characterString(w, f.next('text'), 'text string');
};
const ds: Encoder = (w, f) => {
  w.u16(f.int('key tag', 65535));
  w.u8(f.int('algorithm', 255));
  w.u8(f.int('digest type', 255));
  w.bytes(hex(f.rest('digest'), 'digest'));
};
const dnskey: Encoder = (w, f) => {
  w.u16(f.int('flags', 65535));
  w.u8(f.int('protocol', 255));
  w.u8(f.int('algorithm', 255));
  w.bytes(base64(f.rest('public key'), 'public key'));
};
const tlsa: Encoder = (w, f) => {
  w.u8(f.int('usage', 255));
  w.u8(f.int('selector', 255));
  w.u8(f.int('matching type', 255));
  w.bytes(hex(f.rest('certificate data'), 'certificate data'));
};
const svcb: Encoder = (w, f) => {
  w.u16(f.int('SvcPriority', 65535));
  w.bytes(f.name('TargetName'));
  svcParams(w, f);
};

const ENCODERS = new Map<number, Encoder>([
  [T.A, (w, f) => w.bytes(ipv4(f.word('IPv4 address')))],
  [T.AAAA, (w, f) => w.bytes(ipv6(f.word('IPv6 address')))],
  [T.NS, nameOnly],
  [T.CNAME, nameOnly],
  [T.DNAME, nameOnly],
  [T.PTR, nameOnly],
  [T.MX, (w, f) => {
    w.u16(f.int('preference', 65535));
    w.bytes(f.name('exchange'));
  }],
  [T.AFSDB, (w, f) => {
    w.u16(f.int('subtype', 65535));
    w.bytes(f.name('hostname'));
  }],
  [T.RP, (w, f) => {
    w.bytes(f.name('mailbox'));
    w.bytes(f.name('TXT name'));
  }],
  [T.SOA, (w, f) => {
    w.bytes(f.name('primary server'));
    w.bytes(f.name('responsible mailbox'));
    w.u32(f.int('serial', 2 ** 32 - 1));
    for (const field of ['refresh', 'retry', 'expire', 'minimum']) w.u32(parseTtl(f.word(field), field));
  }],
  [T.TXT, txt],
  [T.SPF, txt],
  [T.HINFO, (w, f) => {
    characterString(w, f.next('CPU'), 'CPU');
    characterString(w, f.next('OS'), 'OS');
  }],
  [T.SRV, (w, f) => {
    w.u16(f.int('priority', 65535));
    w.u16(f.int('weight', 65535));
    w.u16(f.int('port', 65535));
    w.bytes(f.name('target'));
  }],
  [T.NAPTR, (w, f) => {
    w.u16(f.int('order', 65535));
    w.u16(f.int('preference', 65535));
    characterString(w, f.next('flags'), 'flags');
    characterString(w, f.next('services'), 'services');
    characterString(w, f.next('regexp'), 'regexp');
    w.bytes(f.name('replacement'));
  }],
  [T.CAA, (w, f) => {
    w.u8(f.int('flags', 255));
    const tag = f.word('tag');
    if (!/^[A-Za-z0-9]{1,255}$/.test(tag)) throw new RdataError(`bad CAA tag '${tag}'`);
    w.u8(tag.length);
    w.bytes(Buffer.from(tag, 'ascii'));
    w.bytes(unescapeText(f.next('value').text));
  }],
  [T.URI, (w, f) => {
    w.u16(f.int('priority', 65535));
    w.u16(f.int('weight', 65535));
    const target = f.next('target');
    if (!target.quoted) throw new RdataError('URI target must be quoted');
    w.bytes(unescapeText(target.text));
  }],
  [T.DS, ds],
  [T.CDS, ds],
  [T.DNSKEY, dnskey],
  [T.CDNSKEY, dnskey],
  [T.RRSIG, (w, f) => {
    const covered = f.word('type covered');
    const code = typeCode(covered);
    if (code === undefined) throw new RdataError(`unknown type covered '${covered}'`);
    w.u16(code);
    w.u8(f.int('algorithm', 255));
    w.u8(f.int('labels', 255));
    w.u32(parseTtl(f.word('original TTL'), 'original TTL'));
    w.u32(sigTime(f.word('expiration')));
    w.u32(sigTime(f.word('inception')));
    w.u16(f.int('key tag', 65535));
    w.bytes(f.name('signer name'));
    w.bytes(base64(f.rest('signature'), 'signature'));
  }],
  [T.NSEC, (w, f) => {
    w.bytes(f.name('next domain name'));
    typeBitmap(w, f);
  }],
  [T.NSEC3, (w, f) => {
    w.u8(f.int('hash algorithm', 255));
    w.u8(f.int('flags', 255));
    w.u16(f.int('iterations', 65535));
    const salt = f.word('salt');
    const saltBytes = salt === '-' ? Buffer.alloc(0) : hex(salt, 'salt');
    w.u8(saltBytes.length);
    w.bytes(saltBytes);
    const next = base32hex(f.word('next hashed owner'), 'next hashed owner');
    w.u8(next.length);
    w.bytes(next);
    typeBitmap(w, f);
  }],
  [T.NSEC3PARAM, (w, f) => {
    w.u8(f.int('hash algorithm', 255));
    w.u8(f.int('flags', 255));
    w.u16(f.int('iterations', 65535));
    const salt = f.word('salt');
    const saltBytes = salt === '-' ? Buffer.alloc(0) : hex(salt, 'salt');
    w.u8(saltBytes.length);
    w.bytes(saltBytes);
  }],
  [T.TLSA, tlsa],
  [T.SMIMEA, tlsa],
  [T.SSHFP, (w, f) => {
    w.u8(f.int('algorithm', 255));
    w.u8(f.int('fingerprint type', 255));
    w.bytes(hex(f.rest('fingerprint'), 'fingerprint'));
  }],
  [T.OPENPGPKEY, (w, f) => w.bytes(base64(f.rest('key'), 'key'))],
  [T.SVCB, svcb],
  [T.HTTPS, svcb],
  [T.EUI48, (w, f) => {
    const t = f.word('EUI-48');
    if (!/^[0-9a-fA-F]{2}(-[0-9a-fA-F]{2}){5}$/.test(t)) throw new RdataError(`bad EUI-48 '${t}'`);
    w.bytes(Buffer.from(t.replace(/-/g, ''), 'hex'));
  }],
  [T.EUI64, (w, f) => {
    const t = f.word('EUI-64');
    if (!/^[0-9a-fA-F]{2}(-[0-9a-fA-F]{2}){7}$/.test(t)) throw new RdataError(`bad EUI-64 '${t}'`);
    w.bytes(Buffer.from(t.replace(/-/g, ''), 'hex'));
  }],
]);

/** Types this module can read in their own presentation syntax (all others need `\#`). */
export function hasTextSyntax(type: number): boolean {
  return ENCODERS.has(type);
}

/**
 * Appends the RDATA of one record of `type` to `out` (a zone's record arena) and returns its
 * length; relative names are completed with `origin`. On an error `out` may hold a partial
 * write: the caller drops it.
 */
export function encodeRdata(type: number, tokens: Token[], origin: string, start: number, out: ByteWriter): number {
  const from = out.length;
  const first = tokens[start];
  if (first && first.text === '\\#' && !first.quoted) {
    const data = generic(tokens.slice(start));
    out.bytes(data);
    return data.length;
  }
  if (tokens.length === start + 1 && (type === T.A || type === T.AAAA)) {
    // A lone address is read even when quoted (as this parser always has).
    out.bytes(type === T.A ? ipv4(first.text) : ipv6(first.text));
    return out.length - from;
  }
  const encoder = ENCODERS.get(type);
  if (!encoder) throw new RdataError(`type ${typeName(type)} has no supported text form here: use RFC 3597 '\\# length hex'`);
  const f = new Fields(tokens, origin, start);
  encoder(out, f);
  f.end(typeName(type));
  const length = out.length - from;
  if (length > 65535) throw new RdataError('RDATA longer than 65535 bytes');
  return length;
}

function generic(tokens: Token[]): Buffer {
  const lengthText = tokens[1]?.text;
  if (lengthText === undefined || !/^\d+$/.test(lengthText)) throw new RdataError("RFC 3597 '\\#' needs a decimal length");
  const data = hex(tokens.slice(2).map((t) => t.text).join(''), 'RFC 3597 data');
  if (data.length !== Number(lengthText)) throw new RdataError(`RFC 3597 length ${lengthText} does not match ${data.length} bytes of data`);
  return data;
}

/** A TTL as BIND reads it: seconds, or units such as 1w2d3h4m5s (case-insensitive). */
export function parseTtl(text: string, what = 'TTL'): number {
  let value: number;
  if (/^\d+$/.test(text)) value = Number(text);
  else if (/^(\d+[wdhms])+$/i.test(text)) {
    value = 0;
    const unit: Record<string, number> = { w: 604800, d: 86400, h: 3600, m: 60, s: 1 };
    for (const m of text.toLowerCase().matchAll(/(\d+)([wdhms])/g)) value += Number(m[1]) * unit[m[2]];
  } else throw new RdataError(`${what}: bad time value '${text}'`);
  if (value > 2 ** 32 - 1) throw new RdataError(`${what}: '${text}' is out of range`);
  return value;
}

/** Whether a token looks like a TTL (so a record line's fields can be told apart). */
export function isTtl(text: string): boolean {
  const c = text.charCodeAt(0);
  if (!(c >= 0x30 && c <= 0x39)) return false;
  return /^\d+$/.test(text) || /^(\d+[wdhms])+$/i.test(text);
}
