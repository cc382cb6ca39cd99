/**
 * Domain names in presentation form, the way the zone model keeps them: absolute, with a
 * trailing dot, original case preserved (BIND answers with the zone file's case), and one
 * canonical escaping so equal names are equal strings up to case. Lower-casing such a string
 * gives the lookup key, because only ASCII letters are ever case-folded and escapes never hide
 * a letter.
 */

export class NameError extends Error {}

/** True for bytes BIND prints without an escape. */
function plain(byte: number): boolean {
  return byte > 0x20 && byte < 0x7f && byte !== 0x2e && byte !== 0x3b && byte !== 0x5c && byte !== 0x28 && byte !== 0x29 && byte !== 0x22 && byte !== 0x40 && byte !== 0x24;
}

/** Splits presentation text (no trailing dot handling) into label byte arrays, decoding escapes. */
function decodeLabels(text: string): number[][] {
  const labels: number[][] = [];
  let label: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x2e) {
      labels.push(label);
      label = [];
    } else if (c === 0x5c) {
      const d = text.slice(i + 1, i + 4);
      if (/^\d{3}$/.test(d)) {
        const v = Number(d);
        if (v > 255) throw new NameError(`bad escape \\${d} in name '${text}'`);
        label.push(v);
        i += 3;
      } else if (i + 1 < text.length) {
        label.push(text.charCodeAt(++i));
      } else {
        throw new NameError(`name '${text}' ends in a lone backslash`);
      }
    } else if (c > 0x7f) {
      for (const b of Buffer.from(text[i], 'utf8')) label.push(b);
    } else {
      label.push(c);
    }
  }
  labels.push(label);
  return labels;
}

function encodeLabel(bytes: number[]): string {
  let s = '';
  for (const b of bytes) {
    if (plain(b)) s += String.fromCharCode(b);
    else if (b > 0x20 && b < 0x7f) s += '\\' + String.fromCharCode(b);
    else s += '\\' + String(b).padStart(3, '0');
  }
  return s;
}

function checkLengths(labels: number[][], text: string): void {
  let wire = 1;
  for (const l of labels) {
    if (l.length === 0) throw new NameError(`empty label in name '${text}'`);
    if (l.length > 63) throw new NameError(`label longer than 63 bytes in name '${text}'`);
    wire += l.length + 1;
  }
  if (wire > 255) throw new NameError(`name '${text}' is longer than 255 bytes`);
}

/**
 * Interprets a name as written in a zone file: `@` is the origin, a name without a trailing dot
 * is relative to `origin` (itself absolute, e.g. "example.test." or ".").
 */
export function parseName(text: string, origin: string): string {
  if (text === '@') return origin;
  if (text === '.') return '.';
  if (text.length === 0) throw new NameError('empty name');
  const hasEscape = text.includes('\\');
  const absolute = text.endsWith('.') && !(hasEscape && escapedFinalDot(text));
  const bodyLength = absolute ? text.length - 1 : text.length;
  let result: string;
  if (!hasEscape && plainNameLengthsOk(text, bodyLength)) {
    // An absolute name already in canonical form is returned as the same string (no copy).
    if (absolute) return text;
    result = text;
  } else {
    const body = text.slice(0, bodyLength);
    const labels = decodeLabels(body);
    checkLengths(labels, text);
    result = labels.map(encodeLabel).join('.');
  }
  const full = absolute ? `${result}.` : origin === '.' ? `${result}.` : `${result}.${origin}`;
  // Escapes only make the text longer than the wire form, so short text needs no check.
  if (!absolute && full.length + 1 > 255 && wireLength(full) > 255) throw new NameError(`name '${text}' with origin ${origin} is longer than 255 bytes`);
  return full;
}

/**
 * The common case, checked in one pass: only characters BIND prints unescaped, and label and
 * name lengths within limits. False sends the name through the general (escaping) path.
 */
function plainNameLengthsOk(text: string, bodyLength: number): boolean {
  let label = 0;
  for (let i = 0; i < bodyLength; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x2e) {
      if (label === 0) throw new NameError(`empty label in name '${text}'`);
      label = 0;
    } else if (c > 0x20 && c < 0x7f && c !== 0x3b && c !== 0x28 && c !== 0x29 && c !== 0x22 && c !== 0x40 && c !== 0x24) {
      if (++label > 63) throw new NameError(`label longer than 63 bytes in name '${text}'`);
    } else {
      return false;
    }
  }
  if (label === 0) throw new NameError(`empty label in name '${text}'`);
  if (bodyLength + 2 > 255) throw new NameError(`name '${text}' is longer than 255 bytes`);
  return true;
}

function escapedFinalDot(text: string): boolean {
  // "a\." ends in an escaped dot unless the backslash is itself escaped ("a\\.").
  let backslashes = 0;
  for (let i = text.length - 2; i >= 0 && text[i] === '\\'; i--) backslashes++;
  return backslashes % 2 === 1;
}

/** Labels of an absolute canonical name as strings in presentation form (root has none). */
export function labels(name: string): string[] {
  if (name === '.') return [];
  const body = name.slice(0, -1);
  if (!body.includes('\\')) return body.split('.');
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i < body.length; i++) {
    if (body[i] === '\\') i += /\d/.test(body[i + 1] ?? '') ? 3 : 1;
    else if (body[i] === '.') {
      out.push(body.slice(start, i));
      start = i + 1;
    }
  }
  out.push(body.slice(start));
  return out;
}

/**
 * Wire form of an absolute name written only with characters that need no escape, with valid
 * label and name lengths (then `parseName(text, '.')` is `text` itself); undefined for any
 * other text, which needs parseName.
 */
export function plainNameWire(text: string): Buffer | undefined {
  const n = text.length - 1;
  if (n < 1 || n + 2 > 255 || text.charCodeAt(n) !== 0x2e) return undefined;
  const buf = Buffer.allocUnsafe(n + 2);
  let lenAt = 0;
  let len = 0;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x2e) {
      if (len === 0) return undefined;
      buf[lenAt] = len;
      lenAt = i + 1;
      len = 0;
    } else if (plain(c)) {
      if (++len > 63) return undefined;
      buf[i + 1] = c;
    } else {
      return undefined;
    }
  }
  if (len === 0) return undefined;
  buf[lenAt] = len;
  buf[n + 1] = 0;
  return buf;
}

/** Uncompressed wire form of an absolute canonical name. */
export function nameToWire(name: string): Buffer {
  if (name === '.') return Buffer.from([0]);
  const n = name.length - 1;
  const buf = Buffer.allocUnsafe(n + 2);
  let lenAt = 0;
  let len = 0;
  for (let i = 0; i < n; i++) {
    const c = name.charCodeAt(i);
    if (c === 0x5c || c > 0x7f) return nameToWireEscaped(name);
    if (c === 0x2e) {
      buf[lenAt] = len;
      lenAt = i + 1;
      len = 0;
    } else {
      buf[i + 1] = c;
      len++;
    }
  }
  buf[lenAt] = len;
  buf[n + 1] = 0;
  return buf;
}

function nameToWireEscaped(name: string): Buffer {
  const parts = decodeLabels(name.slice(0, -1));
  const bytes: number[] = [];
  for (const l of parts) bytes.push(l.length, ...l);
  bytes.push(0);
  return Buffer.from(bytes);
}

export function wireLength(name: string): number {
  return nameToWire(name).length;
}

const textScratch = Buffer.alloc(256);

/** Reads an uncompressed name from wire at `offset`; returns the name and the offset after it. */
export function nameFromWire(buf: Buffer, offset: number): { name: string; end: number } {
  // Common case: every byte prints as itself, and the text is the wire form with each length
  // byte replaced by a dot, made in one piece (a flat string, not a chain of concatenations).
  let at = offset;
  let n = 0;
  let simple = true;
  for (;;) {
    const len = buf[at];
    if (len === undefined) throw new NameError('name runs past the end of its buffer');
    if (len === 0) break;
    if (len > 63) throw new NameError('compressed or invalid label in uncompressed data');
    if (at + 1 + len > buf.length) throw new NameError('name runs past the end of its buffer');
    // Names longer than the scratch (only from malformed data) take the general path.
    if (n + len + 1 > textScratch.length) simple = false;
    if (simple) {
      for (let i = at + 1; i <= at + len; i++) {
        const c = buf[i];
        if (!plain(c)) simple = false;
        textScratch[n++] = c;
      }
      textScratch[n++] = 0x2e;
    }
    at += 1 + len;
  }
  if (at === offset) return { name: '.', end: at + 1 };
  if (simple) return { name: textScratch.toString('latin1', 0, n), end: at + 1 };
  let out = '';
  at = offset;
  for (let len = buf[at]; len !== 0; len = buf[at]) {
    out += encodeLabel([...buf.subarray(at + 1, at + 1 + len)]);
    out += '.';
    at += 1 + len;
  }
  return { name: out, end: at + 1 };
}

/** The lookup key: ASCII lower case (RFC 4343). */
export function nameKey(name: string): string {
  return name.toLowerCase();
}

/** Whether `name` equals `ancestor` or is below it; both given as keys. */
export function isSubdomainKey(nameKey: string, ancestorKey: string): boolean {
  if (ancestorKey === '.') return true;
  return nameKey === ancestorKey || (nameKey.endsWith(ancestorKey) && nameKey[nameKey.length - ancestorKey.length - 1] === '.' && !escapedAt(nameKey, nameKey.length - ancestorKey.length - 1));
}

function escapedAt(text: string, dotIndex: number): boolean {
  let backslashes = 0;
  for (let i = dotIndex - 1; i >= 0 && text[i] === '\\'; i--) backslashes++;
  return backslashes % 2 === 1;
}

/** The name one label up (`parent("a.b.") === "b."`); the root's parent is undefined. */
export function parent(name: string): string | undefined {
  if (name === '.') return undefined;
  const dot = name.indexOf('.');
  if (dot > 0 && name.lastIndexOf('\\', dot) < 0) return dot === name.length - 1 ? '.' : name.slice(dot + 1);
  const first = labels(name)[0];
  const rest = name.slice(first.length + 1);
  return rest === '' ? '.' : rest;
}
