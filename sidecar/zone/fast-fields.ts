/**
 * Byte-level readers for the fields most records consist of (names, small numbers, addresses,
 * character-strings), writing wire form straight into a ByteWriter. Each one handles only the
 * plain, valid case and otherwise answers "no" (-1 or false) without writing anything useful:
 * the caller then takes the general string path (rdata.ts, name.ts), which either reads the
 * unusual form or gives the exact error. So these readers can never accept what the general
 * path refuses, nor read anything differently.
 */
import { ByteWriter } from './bytes';

const DOT = 0x2e;
const BACKSLASH = 0x5c;
const AT = 0x40;
const COLON = 0x3a;

function digit(c: number): number {
  return c >= 0x30 && c <= 0x39 ? c - 0x30 : -1;
}

/**
 * A domain name from zone-file text, relative to `origin` (absolute wire form), appended to
 * `out`. Returns the wire length, or -1 for the general path.
 */
export function readName(src: Uint8Array, start: number, end: number, origin: Uint8Array, out: ByteWriter): number {
  if (end <= start) return -1;
  out.ensure(256 + origin.length);
  const buf = out.buf;
  const base = out.length;
  if (end - start === 1 && src[start] === AT) {
    for (let i = 0; i < origin.length; i++) buf[base + i] = origin[i];
    out.length += origin.length;
    return origin.length;
  }
  if (end - start === 1 && src[start] === DOT) {
    buf[base] = 0;
    out.length++;
    return 1;
  }
  let lenAt = base;
  let at = base + 1;
  let label = 0;
  let absolute = false;
  for (let i = start; i < end; i++) {
    let c = src[i];
    if (c === DOT) {
      if (label === 0) return -1;
      buf[lenAt] = label;
      lenAt = at++;
      label = 0;
      if (i === end - 1) absolute = true;
      continue;
    }
    if (c === BACKSLASH) {
      if (i + 1 >= end) return -1;
      const d1 = digit(src[i + 1]);
      if (d1 >= 0) {
        const d2 = digit(src[i + 2]);
        const d3 = digit(src[i + 3]);
        if (i + 3 >= end || d2 < 0 || d3 < 0) return -1;
        c = d1 * 100 + d2 * 10 + d3;
        if (c > 255) return -1;
        i += 3;
      } else {
        c = src[++i];
        if (c >= 0x80) return -1;
      }
    } else if (c >= 0x80) {
      // Bytes beyond ASCII go the general way: it reads the file as UTF-8 text.
      return -1;
    }
    if (++label > 63) return -1;
    buf[at++] = c;
    if (at - base > 255) return -1;
  }
  if (absolute) {
    // The final dot opened the root label: its length byte is the terminating zero.
    if (at - base > 255) return -1;
    buf[lenAt] = 0;
    out.length = at;
    return at - base;
  }
  if (label === 0) return -1;
  buf[lenAt] = label;
  const total = at - base + origin.length;
  if (total > 255) return -1;
  // A loop: TypedArray#set costs more than copying the few bytes of an origin.
  for (let i = 0; i < origin.length; i++) buf[at + i] = origin[i];
  out.length = base + total;
  return total;
}

/** An unsigned decimal number up to `max` (at most 9 digits here), or -1. */
export function readNumber(src: Uint8Array, start: number, end: number, max: number): number {
  if (end <= start || end - start > 9) return -1;
  let v = 0;
  for (let i = start; i < end; i++) {
    const d = digit(src[i]);
    if (d < 0) return -1;
    v = v * 10 + d;
  }
  return v <= max ? v : -1;
}

/** Dotted-quad IPv4 written as 4 bytes; false for the general path. */
export function readIpv4(src: Uint8Array, start: number, end: number, out: ByteWriter): boolean {
  out.ensure(4);
  const buf = out.buf;
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = start; i <= end; i++) {
    const c = i < end ? src[i] : DOT;
    if (c === DOT) {
      if (digits === 0 || value > 255 || part === 4) return false;
      buf[out.length + part++] = value;
      value = 0;
      digits = 0;
    } else {
      const d = digit(c);
      // No leading zeros, as inet_pton.
      if (d < 0 || (digits > 0 && value === 0)) return false;
      value = value * 10 + d;
      digits++;
    }
  }
  if (part !== 4) return false;
  out.length += 4;
  return true;
}

function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

const groups = new Uint16Array(8);

/** IPv6 of hex groups with at most one `::` written as 16 bytes; false for the general path (also for a dotted-quad tail). */
export function readIpv6(src: Uint8Array, start: number, end: number, out: ByteWriter): boolean {
  let n = 0;
  let gap = -1;
  let i = start;
  if (end - start >= 2 && src[start] === COLON && src[start + 1] === COLON) {
    gap = 0;
    i += 2;
  }
  while (i < end) {
    let value = 0;
    let digits = 0;
    while (i < end) {
      const v = hexDigit(src[i]);
      if (v < 0) break;
      if (++digits > 4) return false;
      value = (value << 4) | v;
      i++;
    }
    if (digits === 0 || n === 8) return false;
    groups[n++] = value;
    if (i === end) break;
    if (src[i] !== COLON) return false;
    i++;
    if (i === end) return false;
    if (src[i] === COLON) {
      if (gap >= 0) return false;
      gap = n;
      i++;
    }
  }
  if (gap < 0 ? n !== 8 : n > 7) return false;
  out.ensure(16);
  const buf = out.buf;
  let at = out.length;
  const zeros = 8 - n;
  for (let g = 0; g < n; g++) {
    if (g === gap) for (let z = 0; z < zeros; z++, at += 2) buf[at] = buf[at + 1] = 0;
    buf[at++] = groups[g] >> 8;
    buf[at++] = groups[g] & 0xff;
  }
  if (gap === n) for (let z = 0; z < zeros; z++, at += 2) buf[at] = buf[at + 1] = 0;
  out.length = at;
  return true;
}

/** A character-string (length byte and text with `\X` / `\DDD` escapes); false for the general path. */
export function readCharacterString(src: Uint8Array, start: number, end: number, out: ByteWriter): boolean {
  out.ensure(256);
  const buf = out.buf;
  const lenAt = out.length;
  let at = lenAt + 1;
  for (let i = start; i < end; i++) {
    let c = src[i];
    if (c === BACKSLASH) {
      if (i + 1 >= end) return false;
      const d1 = digit(src[i + 1]);
      if (d1 >= 0 && i + 3 < end && digit(src[i + 2]) >= 0 && digit(src[i + 3]) >= 0) {
        c = d1 * 100 + digit(src[i + 2]) * 10 + digit(src[i + 3]);
        if (c > 255) return false;
        i += 3;
      } else {
        c = src[++i];
        if (c >= 0x80) return false;
      }
    } else if (c >= 0x80) {
      // Bytes beyond ASCII go the general way: it reads the file as UTF-8 text.
      return false;
    }
    if (at - lenAt > 255) return false;
    buf[at++] = c;
  }
  buf[lenAt] = at - lenAt - 1;
  out.length = at;
  return true;
}
