/**
 * Zone file parser: RFC 1035 master files with BIND's extensions ($ORIGIN, $TTL, $INCLUDE with
 * an origin, $GENERATE, TTL units, RFC 3597 generic RDATA). It refuses the zone with a
 * file:line message wherever BIND's loader would refuse it, and builds the immutable model.
 *
 * `parseZoneText` is pure (includes come through a resolver function); `parseZoneFile` reads files.
 *
 * Zones run to millions of records, so the common path makes no object per record: the lexer
 * gives byte ranges of the file, owner names are interned in wire form (name-table.ts), and the
 * RDATA of the common types is read from the bytes straight into the record arena
 * (fast-fields.ts). Anything unusual takes the general string path (rdata.ts, name.ts), which
 * reads every form and words every error, so both paths accept and produce the same.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ByteWriter } from './bytes';
import { LexError, MasterLexer, Tokens } from './lexer';
import * as model from './model';
import { Zone, ZoneWarning } from './model';
import { NameTable, wireNameLength } from './name-table';
import { RecordStore } from './store';
import { nameFromWire, nameToWire, parseName, NameError } from './name';
import { encodeRdata, isTtl, parseTtl, RdataError, Token } from './rdata';
import * as types from './types';
import { classCode, CLASSES, className, typeCode, typeName } from './types';
import * as fields from './fast-fields';
import * as wireNames from './name-table';

/*
 * Module-local copies of what the per-record code uses from other modules: when TypeScript runs
 * through esbuild's CommonJS output (tsx, the benchmarks), every imported binding is read
 * through a getter, which costs more than the work in these loops. tsc's output does not need it.
 */
const { META_TYPES, T } = types;
const { readCharacterString, readIpv4, readIpv6, readName, readNumber } = fields;
const { isSubdomainWire, wireEquals } = wireNames;
const { NAME_DATA, NAME_DELEGATION, NAME_DNAME, NAME_ENT, NAME_NSEC3, NAME_WILDCARD } = model;

export class ZoneParseError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly reason: string,
  ) {
    super(`${file}:${line}: ${reason}`);
    this.name = 'ZoneParseError';
  }
}

/** Returns the content of an `$INCLUDE`d file (text or raw bytes); `file` is the name used in messages. */
export type IncludeResolver = (includePath: string, fromFile: string) => { file: string; text: string | Buffer };

export interface ZoneFileOptions {
  /**
   * Directory relative `$INCLUDE` paths are resolved against. named uses its working directory
   * (named.conf's `directory`); the default is the zone file's own directory.
   */
  includeBase?: string;
  /** Zone class; default IN. */
  class?: number;
}

export function parseZoneFile(file: string, origin: string, opts: ZoneFileOptions = {}): Zone {
  let text: Buffer;
  try {
    text = fs.readFileSync(file);
  } catch (e) {
    throw new ZoneParseError(file, 0, `cannot read zone file: ${(e as Error).message}`);
  }
  const base = opts.includeBase ?? path.dirname(path.resolve(file));
  const resolver: IncludeResolver = (includePath) => {
    const target = path.resolve(base, includePath);
    return { file: target, text: fs.readFileSync(target) };
  };
  return parseZoneText(text, origin, file, resolver, opts.class);
}

/** The owner of records: its wire form, and its name id once a record was stored for it. */
class Owner {
  readonly wire = new ByteWriter(512);
  /** UNRESOLVED until the first record is stored, then the name id or OUT_OF_ZONE. */
  id = UNRESOLVED;

  get known(): boolean {
    return this.wire.length > 0;
  }

  set(wire: Uint8Array): void {
    this.wire.length = 0;
    this.wire.bytes(wire);
    this.id = UNRESOLVED;
  }

  get text(): string {
    return nameFromWire(this.wire.buf, 0).name;
  }
}

const UNRESOLVED = -1;
const OUT_OF_ZONE = -2;

/** Parser state that `$INCLUDE` saves and restores. */
interface Scope {
  file: string;
  origin: string;
  originWire: Buffer;
  /** Owner of the previous record (blank owner fields inherit it). */
  owner: Owner;
}

const MAX_INCLUDE_DEPTH = 20;
const MAX_GENERATE = 65536;

/**
 * A word of up to 6 ASCII letters (any case) as one small integer, 5 bits a letter: type and
 * class mnemonics are found without making a string. -1 for any other token (digits, longer
 * words), which then goes through typeCode/classCode.
 */
function shortWordKey(buf: Uint8Array, start: number, end: number): number {
  if (end - start > 6 || end <= start) return -1;
  let key = 0;
  for (let i = start; i < end; i++) {
    const letter = (buf[i] | 0x20) - 0x60; // 'a' or 'A' -> 1 ... 'z' or 'Z' -> 26
    if (letter < 1 || letter > 26 || (buf[i] & 0x40) === 0) return -1;
    key = key * 32 + letter;
  }
  return key;
}

function shortKeys(table: Record<string, number>): Map<number, number> {
  const out = new Map<number, number>();
  for (const [word, code] of Object.entries(table)) {
    const bytes = Buffer.from(word, 'latin1');
    const key = shortWordKey(bytes, 0, bytes.length);
    if (key >= 0) out.set(key, code);
  }
  return out;
}

const SHORT_TYPES = shortKeys(T);
const SHORT_CLASSES = shortKeys(CLASSES);

export function parseZoneText(text: string | Buffer, origin: string, fileName: string, includeResolver: IncludeResolver, zoneClass = 1): Zone {
  let zoneOrigin: string;
  try {
    zoneOrigin = parseName(origin.endsWith('.') ? origin : `${origin}.`, '.');
  } catch (e) {
    throw new ZoneParseError(fileName, 0, `bad zone origin '${origin}': ${(e as Error).message}`);
  }
  const bytes = toBytes(text);
  const parser = new ZoneParser(zoneOrigin, zoneClass, includeResolver, bytes.length);
  parser.parseFile(bytes, { file: fileName, origin: zoneOrigin, originWire: parser.originWire, owner: new Owner() }, 0);
  return parser.finish(fileName);
}

/** A record already in wire form: owner name and RDATA uncompressed (as a zone transfer's,
 * once decoded). */
export interface WireRecord {
  owner: Buffer;
  type: number;
  ttl: number;
  rdata: Buffer;
}

/**
 * A zone from records in wire form (a zone transfer), checked as a zone file is: SOA and NS at
 * the apex, names in the zone, CNAME and DNAME rules, duplicates dropped. `source` names it in
 * errors, with the record's position (from 1) as its line.
 */
export function zoneFromWireRecords(origin: string, records: Iterable<WireRecord>, source: string, zoneClass = 1): Zone {
  let zoneOrigin: string;
  try {
    zoneOrigin = parseName(origin.endsWith('.') ? origin : `${origin}.`, '.');
  } catch (e) {
    throw new ZoneParseError(source, 0, `bad zone origin '${origin}': ${(e as Error).message}`);
  }
  const parser = new ZoneParser(zoneOrigin, zoneClass, () => {
    throw new Error('records in wire form have no includes');
  }, 0);
  parser.wireRecords(records, source);
  return parser.finish(source);
}

function toBytes(text: string | Buffer): Buffer {
  return typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
}

class ZoneParser {
  readonly originWire: Buffer;
  private readonly store: RecordStore;
  private readonly names: NameTable;
  private readonly warnings: ZoneWarning[] = [];
  private defaultTtl: number | undefined;
  private lastTtl: number | undefined;
  private soaMinimum: number | undefined;
  private recordCount = 0;

  constructor(
    private readonly origin: string,
    private readonly zoneClass: number,
    private readonly includeResolver: IncludeResolver,
    inputBytes: number,
  ) {
    this.originWire = nameToWire(origin);
    // Rough shares of a zone file: one owner name per 32 bytes of text, RDATA a third of the
    // text. Sizing for them up front saves rehashing and copying while growing.
    this.names = new NameTable(inputBytes >> 5);
    this.store = new RecordStore(Math.floor(inputBytes / 3));
  }

  parseFile(bytes: Buffer, scope: Scope, depth: number): void {
    const lexer = new MasterLexer(bytes);
    const fileIndex = this.store.fileIndex(scope.file);
    for (;;) {
      try {
        if (!lexer.next()) return;
      } catch (e) {
        if (e instanceof LexError) throw new ZoneParseError(scope.file, e.line, e.message);
        throw e;
      }
      try {
        this.entry(lexer.tokens, lexer.line, lexer.blankOwner, scope, depth, fileIndex);
      } catch (e) {
        if (e instanceof RdataError || e instanceof NameError) throw new ZoneParseError(scope.file, lexer.line, e.message);
        throw e;
      }
    }
  }

  private entry(t: Tokens, line: number, blankOwner: boolean, scope: Scope, depth: number, fileIndex: number): void {
    if (!blankOwner && !t.isQuoted(0) && t.buf[t.starts[0]] === 0x24 /* $ */) {
      this.directive(t, line, scope, depth, fileIndex);
      return;
    }
    if (blankOwner) {
      if (!scope.owner.known) throw new ZoneParseError(scope.file, line, 'record without an owner name and no previous owner to inherit');
    } else {
      const owner = scope.owner.wire;
      owner.length = 0;
      if (readName(t.buf, t.starts[0], t.ends[0], scope.originWire, owner) < 0) {
        owner.length = 0;
        owner.bytes(nameToWire(parseName(t.text(0), scope.origin)));
      }
      scope.owner.id = UNRESOLVED;
    }
    this.record(scope, line, fileIndex, scope.owner, t, blankOwner ? 0 : 1);
  }

  private directive(t: Tokens, line: number, scope: Scope, depth: number, fileIndex: number): void {
    const directive = t.text(0).toUpperCase();
    const fail = (message: string): never => {
      throw new ZoneParseError(scope.file, line, message);
    };
    switch (directive) {
      case '$ORIGIN':
        if (t.count !== 2) fail('$ORIGIN needs exactly one name');
        scope.origin = parseName(t.text(1), scope.origin);
        scope.originWire = nameToWire(scope.origin);
        return;
      case '$TTL':
        if (t.count !== 2) fail('$TTL needs exactly one value');
        this.defaultTtl = parseTtl(t.text(1), '$TTL');
        return;
      case '$INCLUDE': {
        if (t.count < 2 || t.count > 3) fail('$INCLUDE needs a file name and optionally an origin');
        if (depth >= MAX_INCLUDE_DEPTH) fail(`$INCLUDE nested deeper than ${MAX_INCLUDE_DEPTH} (a loop?)`);
        const childOrigin = t.count === 3 ? parseName(t.text(2), scope.origin) : scope.origin;
        const includePath = t.text(1);
        let included: { file: string; text: string | Buffer };
        try {
          included = this.includeResolver(includePath, scope.file);
        } catch (e) {
          return fail(`cannot read $INCLUDE file '${includePath}': ${(e as Error).message}`);
        }
        // The included file gets its own origin and owner; the parent's come back afterwards.
        this.parseFile(toBytes(included.text), { file: included.file, origin: childOrigin, originWire: nameToWire(childOrigin), owner: new Owner() }, depth + 1);
        return;
      }
      case '$GENERATE':
        this.generate(t, line, scope, fileIndex);
        return;
      default:
        fail(`unknown directive ${t.text(0)}`);
    }
  }

  /** One record: optional TTL and class (either order), the type, and the RDATA tokens from `from`. */
  private record(scope: Scope, line: number, fileIndex: number, owner: Owner, t: Tokens, from: number): void {
    const buf = t.buf;
    let ttl: number | undefined;
    let cls: number | undefined;
    let i = from;
    for (; i < from + 2 && i < t.count; i++) {
      if (t.isQuoted(i)) break;
      if (ttl === undefined) {
        const value = ttlField(t, i);
        if (value >= 0) {
          ttl = value;
          continue;
        }
      }
      if (cls === undefined) {
        const code = classField(t, i);
        if (code >= 0) {
          cls = code;
          continue;
        }
      }
      break;
    }
    if (i >= t.count) throw new ZoneParseError(scope.file, line, `record for ${owner.text} has no type`);
    const key = shortWordKey(buf, t.starts[i], t.ends[i]);
    const type = key >= 0 ? SHORT_TYPES.get(key) : typeCode(t.text(i));
    if (type === undefined || t.isQuoted(i)) throw new ZoneParseError(scope.file, line, `unknown RR type '${t.text(i)}'`);
    if (META_TYPES.has(type)) throw new ZoneParseError(scope.file, line, `type ${typeName(type)} cannot appear in a zone file`);
    if (cls !== undefined && cls !== this.zoneClass) throw new ZoneParseError(scope.file, line, `class ${className(cls)} does not match the zone's class ${className(this.zoneClass)}`);
    const arena = this.store.arena;
    const offset = arena.length;
    let length = fastRdata(type, t, i + 1, scope.originWire, arena);
    if (length < 0) {
      arena.length = offset;
      const tokens: Token[] = [];
      for (let k = i + 1; k < t.count; k++) tokens.push({ text: t.text(k), quoted: t.isQuoted(k) });
      try {
        length = encodeRdata(type, tokens, scope.origin, 0, arena);
      } catch (e) {
        arena.length = offset;
        if (e instanceof RdataError) throw new ZoneParseError(scope.file, line, `${typeName(type)} record for ${owner.text}: ${e.message}`);
        throw e;
      }
    }
    this.addRecord(scope, line, fileIndex, owner, ttl, type, offset, length);
  }

  /** Stores a record whose RDATA was just written to the arena at `offset` (or drops it). */
  private addRecord(scope: Scope, line: number, fileIndex: number, owner: Owner, ttl: number | undefined, type: number, offset: number, length: number): void {
    const store = this.store;
    const arena = store.arena;
    if (owner.id === UNRESOLVED) {
      const wire = owner.wire;
      if (!isSubdomainWire(wire.buf, 0, wire.length, this.originWire)) {
        owner.id = OUT_OF_ZONE;
      } else {
        owner.id = this.names.intern(wire.buf, 0, wire.length);
        store.addNode(owner.id);
      }
    }
    if (owner.id === OUT_OF_ZONE) {
      arena.length = offset;
      this.warnings.push({ file: scope.file, line, message: `ignoring out-of-zone data (${owner.text})` });
      return;
    }
    const node = owner.id;
    if (type === T.SOA && owner.wire.length === this.originWire.length && wireEquals(owner.wire.buf, 0, this.originWire, 0, this.originWire.length)) {
      this.soaMinimum = arena.buf.readUInt32BE(offset + length - 4);
    }
    const effectiveTtl = ttl ?? this.defaultTtl ?? this.lastTtl ?? this.soaMinimum;
    if (effectiveTtl === undefined) throw new ZoneParseError(scope.file, line, 'no TTL specified and no $TTL or SOA to take it from');
    if (ttl !== undefined) this.lastTtl = ttl;
    // Same owner and type seen before: BIND keeps the first TTL and drops exact duplicates.
    // Only short chains are searched here; model building removes any other duplicates.
    let steps = 0;
    let ttlWarned = false;
    for (let rr = store.nodeFirst[node]; rr >= 0 && steps < 64; rr = store.rrNext[rr], steps++) {
      if (store.rrType[rr] !== type) continue;
      if (store.rrTtl[rr] !== effectiveTtl && !ttlWarned) {
        ttlWarned = true;
        this.warnings.push({ file: scope.file, line, message: `TTL ${effectiveTtl} differs from the RRset's TTL ${store.rrTtl[rr]}: using ${store.rrTtl[rr]} as BIND does` });
      }
      if (store.rdataEqualsAt(rr, offset, length)) {
        arena.length = offset;
        return;
      }
    }
    store.addRecord(node, type, effectiveTtl, offset, length, line, fileIndex);
    this.recordCount++;
  }

  /** `$GENERATE range lhs [ttl] [class] type rhs`, with BIND's `${offset,width,base}` modifiers. */
  private generate(t: Tokens, line: number, scope: Scope, fileIndex: number): void {
    const fail = (message: string): never => {
      throw new ZoneParseError(scope.file, line, `$GENERATE: ${message}`);
    };
    if (t.count < 4) fail('needs a range, an owner, a type and RDATA');
    const rangeText = t.text(1);
    const range = /^(\d+)-(\d+)(?:\/(\d+))?$/.exec(rangeText);
    if (!range) return fail(`bad range '${rangeText}' (expected start-stop[/step])`);
    const [start, stop, step] = [Number(range[1]), Number(range[2]), Number(range[3] ?? 1)];
    if (start > stop || step < 1) fail(`bad range '${rangeText}'`);
    if ((stop - start) / step + 1 > MAX_GENERATE) fail(`range '${rangeText}' makes more than ${MAX_GENERATE} records`);
    const lhs = t.text(2);
    const fields: Token[] = [];
    for (let k = 3; k < t.count; k++) fields.push({ text: t.text(k), quoted: t.isQuoted(k) });
    const owner = new Owner();
    for (let n = start; n <= stop; n += step) {
      owner.set(nameToWire(parseName(substitute(lhs, n, fail), scope.origin)));
      const substituted = fields.map((f) => ({ text: substitute(f.text, n, fail), quoted: f.quoted }));
      // A quoted RHS holding several fields ("10 mail$") is split like unquoted text would be.
      const typeAt = substituted.findIndex((f, idx) => idx < 3 && !f.quoted && typeCode(f.text) !== undefined && !isTtl(f.text));
      const expanded = substituted.flatMap((f, idx) => (idx > typeAt && f.quoted && typeAt >= 0 && /\s/.test(f.text) ? f.text.trim().split(/\s+/).map((text) => ({ text, quoted: false })) : [f]));
      this.record(scope, line, fileIndex, owner, Tokens.fromStrings(expanded), 0);
    }
  }

  /** Each record as if read from a file named `source`, one record a line. */
  wireRecords(records: Iterable<WireRecord>, source: string): void {
    const fileIndex = this.store.fileIndex(source);
    const scope: Scope = { file: source, origin: this.origin, originWire: this.originWire, owner: new Owner() };
    let line = 0;
    for (const r of records) {
      line++;
      if (META_TYPES.has(r.type)) throw new ZoneParseError(source, line, `type ${typeName(r.type)} cannot appear in a zone`);
      scope.owner.set(r.owner);
      const arena = this.store.arena;
      const offset = arena.length;
      arena.bytes(r.rdata);
      this.addRecord(scope, line, fileIndex, scope.owner, r.ttl, r.type, offset, r.rdata.length);
    }
  }

  finish(fileName: string): Zone {
    return finish(this.origin, this.originWire, this.zoneClass, this.store, this.names, this.recordCount, this.warnings, fileName);
  }
}

/** A TTL field's value, or -1 when the token is not a TTL (out-of-range TTLs throw). */
function ttlField(t: Tokens, i: number): number {
  const buf = t.buf;
  const start = t.starts[i];
  const end = t.ends[i];
  const c = buf[start];
  if (!(c >= 0x30 && c <= 0x39)) return -1;
  const plain = readNumber(buf, start, end, 0xffffffff);
  if (plain >= 0) return plain;
  const text = t.text(i);
  return isTtl(text) ? parseTtl(text) : -1;
}

/** A class field's code, or -1 when the token is no class (or is also a type, as ANY). */
function classField(t: Tokens, i: number): number {
  const key = shortWordKey(t.buf, t.starts[i], t.ends[i]);
  if (key >= 0) {
    const code = SHORT_CLASSES.get(key);
    return code === undefined || SHORT_TYPES.has(key) ? -1 : code;
  }
  const text = t.text(i);
  const code = classCode(text);
  return code === undefined || typeCode(text) !== undefined ? -1 : code;
}

/**
 * RDATA of the common types read straight from the token bytes into the arena; -1 sends the
 * record to the general path (rdata.ts), which reads every form and words every error.
 */
function fastRdata(type: number, t: Tokens, first: number, origin: Uint8Array, out: ByteWriter): number {
  const n = t.count - first;
  if (n <= 0) return -1;
  const buf = t.buf;
  const s = t.starts;
  const e = t.ends;
  for (let k = first; k < t.count; k++) if (t.quoted[k] === 1 && type !== T.TXT && type !== T.SPF) return -1;
  switch (type) {
    case T.A:
      return n === 1 && readIpv4(buf, s[first], e[first], out) ? 4 : -1;
    case T.AAAA:
      return n === 1 && readIpv6(buf, s[first], e[first], out) ? 16 : -1;
    case T.NS:
    case T.CNAME:
    case T.PTR:
    case T.DNAME:
      return n === 1 ? readName(buf, s[first], e[first], origin, out) : -1;
    case T.MX: {
      if (n !== 2) return -1;
      const preference = readNumber(buf, s[first], e[first], 0xffff);
      if (preference < 0) return -1;
      out.u16(preference);
      const name = readName(buf, s[first + 1], e[first + 1], origin, out);
      return name < 0 ? -1 : 2 + name;
    }
    case T.SRV: {
      if (n !== 4) return -1;
      for (let k = first; k < first + 3; k++) {
        const v = readNumber(buf, s[k], e[k], 0xffff);
        if (v < 0) return -1;
        out.u16(v);
      }
      const name = readName(buf, s[first + 3], e[first + 3], origin, out);
      return name < 0 ? -1 : 6 + name;
    }
    case T.TXT:
    case T.SPF: {
      const from = out.length;
      // An unquoted `\#` is the RFC 3597 generic form.
      if (t.quoted[first] === 0 && e[first] - s[first] === 2 && buf[s[first]] === 0x5c && buf[s[first] + 1] === 0x23) return -1;
      for (let k = first; k < t.count; k++) if (!readCharacterString(buf, s[k], e[k], out)) return -1;
      return out.length - from > 65535 ? -1 : out.length - from;
    }
    default:
      return -1;
  }
}

/** Replaces `$` and `${offset[,width[,base]]}` in a $GENERATE template; `\$` is a literal `$`. */
function substitute(template: string, n: number, fail: (m: string) => never): string {
  let out = '';
  for (let i = 0; i < template.length; i++) {
    const c = template[i];
    if (c === '\\' && template[i + 1] === '$') {
      out += '$';
      i++;
    } else if (c === '\\') {
      out += c + (template[i + 1] ?? '');
      i++;
    } else if (c === '$') {
      if (template[i + 1] === '{') {
        const close = template.indexOf('}', i);
        if (close < 0) fail(`unterminated \${ in '${template}'`);
        const m = /^(-?\d+)(?:,(\d+)(?:,([doxXnN]))?)?$/.exec(template.slice(i + 2, close));
        if (!m) fail(`bad modifier '${template.slice(i, close + 1)}'`);
        const [, offset, width, base] = m as RegExpExecArray;
        // BIND reads both as C ints; no name is longer than 255 bytes, so no wider field can be.
        if (Math.abs(Number(offset)) > 0x7fffffff) fail(`offset out of range in '${template.slice(i, close + 1)}'`);
        if (Number(width ?? 0) > 255) fail(`width over 255 in '${template.slice(i, close + 1)}'`);
        out += formatGenerated(n + Number(offset), Number(width ?? 0), base ?? 'd');
        i = close;
      } else {
        out += String(n);
      }
    } else {
      out += c;
    }
  }
  return out;
}

function formatGenerated(value: number, width: number, base: string): string {
  if (base === 'n' || base === 'N') {
    // Nibble format: reversed hex digits separated by dots, as for ip6.arpa names.
    let digits = value.toString(16);
    if (base === 'N') digits = digits.toUpperCase();
    const wanted = Math.max(width > 0 ? Math.ceil(width / 2) : digits.length, digits.length);
    digits = digits.padStart(wanted, '0');
    const nibble = [...digits].reverse().join('.');
    return width > 0 ? nibble.slice(0, width) : nibble;
  }
  const radix = base === 'o' ? 8 : base === 'x' || base === 'X' ? 16 : 10;
  let s = value.toString(radix);
  if (base === 'X') s = s.toUpperCase();
  return s.padStart(width, '0');
}

/** Where a record came from, for messages about it. */
function at(store: RecordStore, rr: number): [string, number] {
  return [store.files[store.rrFile[rr]], store.rrLine[rr]];
}

/**
 * Checks the whole zone the way BIND's loader does and derives the lookup structure (what each
 * name is, the empty non-terminals), over name ids and record indexes: no per-name objects.
 */
function finish(origin: string, originWire: Buffer, zoneClass: number, store: RecordStore, names: NameTable, recordCount: number, warnings: ZoneWarning[], fileName: string): Zone {
  const apex = names.find(originWire, 0, originWire.length);
  const fail = (rr: number, message: string): never => {
    throw new ZoneParseError(...at(store, rr), message);
  };
  let soaCount = 0;
  let soaRecord = -1;
  let apexNs = false;
  if (apex >= 0) {
    for (const rr of store.records(apex)) {
      if (store.rrType[rr] === T.SOA) {
        soaCount++;
        soaRecord = rr;
      }
      if (store.rrType[rr] === T.NS) apexNs = true;
    }
  }
  if (soaCount === 0) throw new ZoneParseError(fileName, 0, `zone ${origin} has no SOA record at its apex`);
  if (soaCount > 1) fail(soaRecord, `zone ${origin} has more than one SOA record`);
  if (!apexNs) fail(soaRecord, `zone ${origin} has no NS records at its apex`);

  const owners = names.size;
  let flags = new Uint8Array(owners + (owners >> 2) + 16);
  const nsRecords: number[] = [];
  let signed = false;
  for (let id = 0; id < owners; id++) {
    const first = store.nodeFirst[id];
    let cname = -1;
    let dname = -1;
    let onlyNsec3 = true;
    let hasNsec3 = false;
    let hasNs = false;
    for (let rr = first; rr >= 0; rr = store.rrNext[rr]) {
      const type = store.rrType[rr];
      if (type === T.NSEC3) hasNsec3 = true;
      if (type !== T.NSEC3 && type !== T.RRSIG) onlyNsec3 = false;
      if (type === T.SOA && id !== apex) fail(rr, `SOA record for ${names.text(id)} is not at the top of the zone`);
      if (type === T.CNAME) {
        if (cname >= 0 && !store.rdataEquals(cname, rr)) fail(rr, `more than one CNAME at ${names.text(id)}`);
        cname = rr;
      } else if (type === T.DNAME) {
        if (dname >= 0 && !store.rdataEquals(dname, rr)) fail(rr, `more than one DNAME at ${names.text(id)}`);
        dname = rr;
      } else if (type === T.NS) {
        nsRecords.push(rr);
        hasNs = true;
      } else if (type === T.RRSIG || type === T.DNSKEY || type === T.NSEC3) {
        signed = true;
      }
    }
    if (cname >= 0) {
      for (let rr = first; rr >= 0; rr = store.rrNext[rr]) {
        const type = store.rrType[rr];
        if (type !== T.CNAME && type !== T.RRSIG && type !== T.NSEC && type !== T.KEY) fail(rr, `CNAME and other data at ${names.text(id)} (${typeName(type)})`);
      }
    }
    if (onlyNsec3 && hasNsec3) {
      // NSEC3 records live in a namespace of their own: named answers their owner names with
      // NXDOMAIN, and they make no empty non-terminals.
      flags[id] = NAME_NSEC3;
      continue;
    }
    let f = NAME_DATA;
    if (id !== apex && hasNs) f |= NAME_DELEGATION;
    if (dname >= 0) f |= NAME_DNAME;
    const at = names.offset(id);
    if (names.buffer[at] === 1 && names.buffer[at + 1] === 0x2a) f |= NAME_WILDCARD;
    flags[id] = f;
  }
  // Empty non-terminals: the names between each name and the apex that hold no data. Parents
  // are suffixes of a wire name, so they are found (or added) without making names.
  const originLength = originWire.length;
  for (let id = 0; id < owners; id++) {
    if ((flags[id] & NAME_DATA) === 0) continue;
    let at = names.offset(id);
    let length = names.wireLength(id);
    for (;;) {
      const buf = names.buffer;
      const label = buf[at] + 1;
      at += label;
      length -= label;
      if (length <= originLength) break;
      let up = names.find(buf, at, length);
      if (up >= 0 && (flags[up] & (NAME_DATA | NAME_ENT)) !== 0) break;
      if (up < 0) {
        up = names.intern(buf, at, length);
        // The interned copy is where this name lives now; continue from it.
        at = names.offset(up);
        if (up >= flags.length) {
          const bigger = new Uint8Array(flags.length * 2);
          bigger.set(flags);
          flags = bigger;
        }
      }
      flags[up] |= NAME_ENT;
    }
  }
  flags = flags.slice(0, names.size);
  store.addNode(names.size - 1);
  checkNameServerAddresses(origin, originWire, store, names, nsRecords);
  store.trim();
  names.trim();
  return new Zone({ origin, class: zoneClass, store, names, flags, signed, recordCount, warnings });
}

/**
 * BIND's check-integrity (on for primary zones): an NS name inside the zone must have an
 * address record, otherwise the zone does not load.
 */
function checkNameServerAddresses(origin: string, originWire: Buffer, store: RecordStore, names: NameTable, nsRecords: number[]): void {
  const arena = store.arena.buf;
  for (const rr of nsRecords) {
    const start = store.rrOffset[rr];
    const length = wireNameLength(arena, start);
    if (!isSubdomainWire(arena, start, length, originWire)) continue;
    const id = names.find(arena, start, length);
    let hasAddress = false;
    if (id >= 0 && id < store.nodeCount) {
      for (let r = store.nodeFirst[id]; r >= 0 && !hasAddress; r = store.rrNext[r]) hasAddress = store.rrType[r] === T.A || store.rrType[r] === T.AAAA;
    }
    if (!hasAddress) {
      const target = nameFromWire(arena, start).name;
      const owner = names.text(ownerOf(store, rr));
      throw new ZoneParseError(...at(store, rr), `NS '${target}' of ${owner} is inside zone ${origin} but has no address records (A or AAAA)`);
    }
  }
}

/** The node a record belongs to (a scan: only used on the error path). */
function ownerOf(store: RecordStore, record: number): number {
  for (let id = 0; id < store.nodeCount; id++) for (let rr = store.nodeFirst[id]; rr >= 0; rr = store.rrNext[rr]) if (rr === record) return id;
  return 0;
}
