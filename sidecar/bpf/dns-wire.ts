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
 */
export function nameToWire(name: string): Buffer {
  if (name === '' || name === '.') return Buffer.from([0]);
  const labels: number[][] = [];
  let label: number[] = [];
  let i = 0;
  const push = () => {
    if (label.length === 0) throw new DnsNameError(name, 'empty label');
    if (label.length > MAX_LABEL) throw new DnsNameError(name, `label longer than ${MAX_LABEL} bytes`);
    labels.push(label);
    label = [];
  };
  while (i < name.length) {
    const ch = name[i];
    if (ch === '.') {
      push();
      i++;
      if (i === name.length) break; // trailing dot: fully qualified
      continue;
    }
    if (ch === '\\') {
      const digits = /^[0-9]{3}/.exec(name.slice(i + 1));
      if (digits) {
        const byte = Number(digits[0]);
        if (byte > 255) throw new DnsNameError(name, `escape \\${digits[0]} is not a byte`);
        label.push(byte);
        i += 4;
        continue;
      }
      if (i + 1 >= name.length) throw new DnsNameError(name, 'ends in a lone backslash');
      i++;
    }
    const code = name.codePointAt(i)!;
    const bytes = Buffer.from(String.fromCodePoint(code), 'utf8');
    label.push(...bytes);
    i += code > 0xffff ? 2 : 1;
  }
  if (label.length > 0 || labels.length === 0) push();
  const wire = Buffer.alloc(labels.reduce((n, l) => n + 1 + l.length, 1));
  let off = 0;
  for (const l of labels) {
    wire[off++] = l.length;
    for (const b of l) wire[off++] = b;
  }
  wire[off] = 0;
  if (wire.length > MAX_NAME) throw new DnsNameError(name, `${wire.length} bytes in wire format, more than ${MAX_NAME}`);
  return wire;
}

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
  const out = Buffer.from(wire);
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
  return code(type, 'TYPE', (t) => dnsTypes.toType(t), 'record type');
}

/** A class mnemonic ("IN"), RFC 3597 "CLASS1", or the number itself. */
export function classCode(klass: string | number): number {
  return code(klass, 'CLASS', (c) => dnsClasses.toClass(c), 'class');
}

function code(value: string | number, prefix: string, lookup: (s: string) => number, what: string): number {
  let n: number;
  if (typeof value === 'number') n = value;
  else {
    const generic = new RegExp(`^${prefix}([0-9]+)$`, 'i').exec(value);
    n = generic ? Number(generic[1]) : lookup(value);
    if (n === 0 && !generic) throw new RangeError(`unknown DNS ${what} ${JSON.stringify(value)}`);
  }
  if (!Number.isInteger(n) || n < 0 || n > 0xffff) throw new RangeError(`DNS ${what} ${value} is not a 16-bit number`);
  return n;
}
