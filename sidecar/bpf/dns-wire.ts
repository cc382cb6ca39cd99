/**
 * DNS wire-format pieces the cache codec needs: names from presentation format (RFC 1035
 * 5.1 escapes included), the case folding DNS uses for comparison, and type/class codes.
 */
// dns-packet ships its code tables without type declarations.
// eslint-disable-next-line @typescript-eslint/no-var-requires
const dnsTypes = require('dns-packet/types') as { toType(name: string): number };
// eslint-disable-next-line @typescript-eslint/no-var-requires
const dnsClasses = require('dns-packet/classes') as { toClass(name: string): number };

const MAX_LABEL = 63;
const MAX_NAME = 255;

export class DnsNameError extends Error {
  constructor(name: string, problem: string) {
    super(`DNS name ${JSON.stringify(name)}: ${problem}`);
    this.name = 'DnsNameError';
  }
}

/**
 * Presentation name ("www.Example.test", trailing dot optional, "." is the root) to wire
 * format, case kept. `\.` and `\\` escape one character, `\DDD` gives a byte in decimal.
 * Works on the UTF-8 bytes: escapes and dots are ASCII, so multi-byte characters pass through.
 */
export function nameToWire(name: string): Buffer {
  const text = Buffer.from(name, 'utf8');
  if (text.length === 0 || (text.length === 1 && text[0] === DOT)) return Buffer.from([0]);
  // Escapes only shrink a name, so the wire form never exceeds the text plus two bytes.
  const wire = Buffer.allocUnsafe(text.length + 2);
  let labelStart = 0; // offset of the current label's length byte in `wire`
  let out = 1;
  const closeLabel = () => {
    const len = out - labelStart - 1;
    if (len === 0) throw new DnsNameError(name, 'empty label');
    if (len > MAX_LABEL) throw new DnsNameError(name, `label longer than ${MAX_LABEL} bytes`);
    wire[labelStart] = len;
    labelStart = out++;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === DOT) {
      closeLabel();
      continue;
    }
    if (c === BACKSLASH) {
      if (i + 1 >= text.length) throw new DnsNameError(name, 'ends in a lone backslash');
      if (isDigit(text[i + 1])) {
        if (i + 3 >= text.length || !isDigit(text[i + 2]) || !isDigit(text[i + 3])) {
          throw new DnsNameError(name, 'a \\DDD escape needs three digits');
        }
        const byte = (text[i + 1] - 0x30) * 100 + (text[i + 2] - 0x30) * 10 + (text[i + 3] - 0x30);
        if (byte > 255) throw new DnsNameError(name, `escape \\${text.toString('latin1', i + 1, i + 4)} is not a byte`);
        wire[out++] = byte;
        i += 3;
        continue;
      }
      wire[out++] = text[++i];
      continue;
    }
    wire[out++] = c;
  }
  if (out - labelStart - 1 > 0) closeLabel(); // no trailing dot
  // `labelStart` now points at the slot for the root label.
  wire[labelStart] = 0;
  const length = labelStart + 1;
  if (length > MAX_NAME) throw new DnsNameError(name, `${length} bytes in wire format, more than ${MAX_NAME}`);
  return wire.subarray(0, length);
}

const DOT = 0x2e;
const BACKSLASH = 0x5c;
const isDigit = (c: number | undefined) => c !== undefined && c >= 0x30 && c <= 0x39;

/**
 * Checks an uncompressed wire name occupying the whole buffer and returns the offsets at which
 * its labels start (the root label included).
 */
export function wireNameLabels(wire: Uint8Array): number[] {
  const starts: number[] = [];
  let off = 0;
  for (;;) {
    if (off >= wire.length) throw new DnsNameError(describeWire(wire), 'runs past its end without a root label');
    const len = wire[off];
    if (len > MAX_LABEL) throw new DnsNameError(describeWire(wire), `byte ${off} (${len}) is not a plain label length`);
    starts.push(off);
    off += 1 + len;
    if (len === 0) break;
  }
  if (off !== wire.length) throw new DnsNameError(describeWire(wire), `${wire.length - off} bytes follow the root label`);
  if (off > MAX_NAME) throw new DnsNameError(describeWire(wire), `${off} bytes, more than ${MAX_NAME}`);
  return starts;
}

/** The comparison form: ASCII A-Z in label contents lower-cased, nothing else touched. */
export function lowerWireName(wire: Uint8Array): Buffer {
  return lowerWireNameInPlace(Buffer.from(wire));
}

/** lowerWireName without the copy, for a buffer the caller owns. */
export function lowerWireNameInPlace(out: Buffer): Buffer {
  let off = 0;
  while (off < out.length && out[off] !== 0) {
    const end = off + 1 + out[off];
    for (let i = off + 1; i < end && i < out.length; i++) {
      if (out[i] >= 0x41 && out[i] <= 0x5a) out[i] |= 0x20;
    }
    off = end;
  }
  return out;
}

/** Whether two wire names are equal as DNS compares them (ASCII case-insensitively). */
export function wireNamesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] >= 0x41 && a[i] <= 0x5a ? a[i] | 0x20 : a[i];
    const y = b[i] >= 0x41 && b[i] <= 0x5a ? b[i] | 0x20 : b[i];
    if (x !== y) return false;
  }
  return true;
}

/** Wire name back to presentation format, for messages and listings. */
export function wireToName(wire: Uint8Array): string {
  const parts: string[] = [];
  let off = 0;
  while (off < wire.length && wire[off] !== 0) {
    const len = wire[off];
    let label = '';
    for (let i = off + 1; i <= off + len && i < wire.length; i++) {
      const b = wire[i];
      if (b === 0x2e || b === 0x5c) label += `\\${String.fromCharCode(b)}`;
      else if (b > 0x20 && b < 0x7f) label += String.fromCharCode(b);
      else label += `\\${String(b).padStart(3, '0')}`;
    }
    parts.push(label);
    off += 1 + len;
  }
  return parts.length === 0 ? '.' : `${parts.join('.')}.`;
}

function describeWire(wire: Uint8Array): string {
  return Buffer.from(wire).toString('hex');
}

/** A type mnemonic ("AAAA"), RFC 3597 "TYPE28", or the number itself. */
export function typeCode(type: string | number): number {
  return code(type, GENERIC_TYPE, (t) => dnsTypes.toType(t), 'record type');
}

/** A class mnemonic ("IN"), RFC 3597 "CLASS1", or the number itself. */
export function classCode(klass: string | number): number {
  return code(klass, GENERIC_CLASS, (c) => dnsClasses.toClass(c), 'class');
}

const GENERIC_TYPE = /^TYPE([0-9]+)$/i;
const GENERIC_CLASS = /^CLASS([0-9]+)$/i;

function code(value: string | number, generic: RegExp, lookup: (s: string) => number, what: string): number {
  let n: number;
  if (typeof value === 'number') n = value;
  else {
    const match = generic.exec(value);
    n = match ? Number(match[1]) : lookup(value);
    if (n === 0 && !match) throw new RangeError(`unknown DNS ${what} ${JSON.stringify(value)}`);
  }
  if (!Number.isInteger(n) || n < 0 || n > 0xffff) throw new RangeError(`DNS ${what} ${value} is not a 16-bit number`);
  return n;
}
