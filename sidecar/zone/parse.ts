/**
 * Zone file parser: RFC 1035 master files with BIND's extensions ($ORIGIN, $TTL, $INCLUDE with
 * an origin, $GENERATE, TTL units, RFC 3597 generic RDATA). It refuses the zone with a
 * file:line message wherever BIND's loader would refuse it, and builds the immutable model.
 *
 * `parseZoneText` is pure (includes come through a resolver function); `parseZoneFile` reads files.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Entry, LexError, MasterLexer } from './lexer';
import { addEmptyNonTerminals, Zone, ZoneWarning } from './model';
import { RecordStore } from './store';
import { isSubdomainKey, nameKey, nameFromWire, parseName, NameError } from './name';
import { encodeRdata, isTtl, parseTtl, RdataError, Token, writeAddress } from './rdata';
import { classCode, className, META_TYPES, T, typeCode, typeName } from './types';

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

/** Returns the text of an `$INCLUDE`d file; `file` is the name used in messages. */
export type IncludeResolver = (includePath: string, fromFile: string) => { file: string; text: string };

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
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new ZoneParseError(file, 0, `cannot read zone file: ${(e as Error).message}`);
  }
  const base = opts.includeBase ?? path.dirname(path.resolve(file));
  const resolver: IncludeResolver = (includePath) => {
    const target = path.resolve(base, includePath);
    return { file: target, text: fs.readFileSync(target, 'utf8') };
  };
  return parseZoneText(text, origin, file, resolver, opts.class);
}

/** Parser state that `$INCLUDE` saves and restores. */
interface Scope {
  file: string;
  origin: string;
  owner: string | undefined;
}

const MAX_INCLUDE_DEPTH = 20;
const MAX_GENERATE = 65536;

export function parseZoneText(text: string, origin: string, fileName: string, includeResolver: IncludeResolver, zoneClass = 1): Zone {
  let zoneOrigin: string;
  try {
    zoneOrigin = parseName(origin.endsWith('.') ? origin : `${origin}.`, '.');
  } catch (e) {
    throw new ZoneParseError(fileName, 0, `bad zone origin '${origin}': ${(e as Error).message}`);
  }
  const originKey = nameKey(zoneOrigin);
  const store = new RecordStore();
  const index = new Map<string, number>();
  const warnings: ZoneWarning[] = [];
  let defaultTtl: number | undefined;
  let lastTtl: number | undefined;
  let soaMinimum: number | undefined;
  let recordCount = 0;
  // Consecutive records usually share an owner: remember the last one's key and node.
  let lastOwner = '';
  let lastKey = '';
  let lastNode = -1;

  /** Adds a record whose RDATA has been written to the arena at `offset` (not yet committed). */
  const addRecord = (scope: Scope, line: number, owner: string, ttl: number | undefined, type: number, offset: number, length: number) => {
    let key: string;
    let node: number;
    if (owner === lastOwner) {
      key = lastKey;
      node = lastNode;
    } else {
      key = nameKey(owner);
      if (!isSubdomainKey(key, originKey)) {
        warnings.push({ file: scope.file, line, message: `ignoring out-of-zone data (${owner})` });
        return;
      }
      const known = index.get(key);
      node = known ?? store.addNode(owner);
      if (known === undefined) index.set(key, node);
      lastOwner = owner;
      lastKey = key;
      lastNode = node;
    }
    const arena = store.arena;
    if (type === T.SOA && key === originKey) soaMinimum = arena.readUInt32BE(offset + length - 4);
    const effectiveTtl = ttl ?? defaultTtl ?? lastTtl ?? soaMinimum;
    if (effectiveTtl === undefined) throw new ZoneParseError(scope.file, line, 'no TTL specified and no $TTL or SOA to take it from');
    if (ttl !== undefined) lastTtl = ttl;
    // Same owner and type seen before: BIND keeps the first TTL and drops exact duplicates.
    // Only short chains are searched here; model building removes any other duplicates.
    let steps = 0;
    let ttlWarned = false;
    for (let rr = store.nodeFirst[node]; rr >= 0 && steps < 64; rr = store.rrNext[rr], steps++) {
      if (store.rrType[rr] !== type) continue;
      if (store.rrTtl[rr] !== effectiveTtl && !ttlWarned) {
        ttlWarned = true;
        warnings.push({ file: scope.file, line, message: `TTL ${effectiveTtl} differs from the RRset's TTL ${store.rrTtl[rr]}: using ${store.rrTtl[rr]} as BIND does` });
      }
      if (store.rrLength[rr] === length && arena.compare(arena, offset, offset + length, store.rrOffset[rr], store.rrOffset[rr] + length) === 0) return;
    }
    store.addRecord(node, type, effectiveTtl, offset, length, line, store.fileIndex(scope.file));
    recordCount++;
  };

  const parseFile = (fileText: string, scope: Scope, depth: number) => {
    const lexer = new MasterLexer(fileText);
    for (;;) {
      let entry: Entry | null;
      try {
        entry = lexer.next();
      } catch (e) {
        if (e instanceof LexError) throw new ZoneParseError(scope.file, e.line, e.message);
        throw e;
      }
      if (!entry) return;
      try {
        handleEntry(entry, scope, depth);
      } catch (e) {
        if (e instanceof RdataError || e instanceof NameError) throw new ZoneParseError(scope.file, entry.line, e.message);
        throw e;
      }
    }
  };

  const handleEntry = (entry: Entry, scope: Scope, depth: number) => {
    const tokens = entry.tokens;
    const first = tokens[0];
    if (!entry.blankOwner && !first.quoted && first.text.startsWith('$')) {
      const directive = first.text.toUpperCase();
      const fail = (message: string): never => {
        throw new ZoneParseError(scope.file, entry.line, message);
      };
      switch (directive) {
        case '$ORIGIN':
          if (tokens.length !== 2) fail('$ORIGIN needs exactly one name');
          scope.origin = parseName(tokens[1].text, scope.origin);
          return;
        case '$TTL':
          if (tokens.length !== 2) fail('$TTL needs exactly one value');
          defaultTtl = parseTtl(tokens[1].text, '$TTL');
          return;
        case '$INCLUDE': {
          if (tokens.length < 2 || tokens.length > 3) fail('$INCLUDE needs a file name and optionally an origin');
          if (depth >= MAX_INCLUDE_DEPTH) fail(`$INCLUDE nested deeper than ${MAX_INCLUDE_DEPTH} (a loop?)`);
          const childOrigin = tokens[2] ? parseName(tokens[2].text, scope.origin) : scope.origin;
          let included: { file: string; text: string };
          try {
            included = includeResolver(tokens[1].text, scope.file);
          } catch (e) {
            return fail(`cannot read $INCLUDE file '${tokens[1].text}': ${(e as Error).message}`);
          }
          // The included file gets its own origin and owner; the parent's come back afterwards.
          parseFile(included.text, { file: included.file, origin: childOrigin, owner: undefined }, depth + 1);
          return;
        }
        case '$GENERATE':
          generate(entry, scope);
          return;
        default:
          fail(`unknown directive ${first.text}`);
      }
    }
    let owner: string;
    if (entry.blankOwner) {
      if (scope.owner === undefined) throw new ZoneParseError(scope.file, entry.line, 'record without an owner name and no previous owner to inherit');
      owner = scope.owner;
    } else {
      owner = parseName(first.text, scope.origin);
    }
    scope.owner = owner;
    record(scope, entry.line, owner, tokens, entry.blankOwner ? 0 : 1);
  };

  const record = (scope: Scope, line: number, owner: string, fields: Token[], from = 0) => {
    let ttl: number | undefined;
    let cls: number | undefined;
    let i = from;
    for (; i < from + 2 && i < fields.length; i++) {
      const t = fields[i].text;
      if (ttl === undefined && !fields[i].quoted && isTtl(t)) ttl = parseTtl(t);
      else if (cls === undefined && !fields[i].quoted && classCode(t) !== undefined && typeCode(t) === undefined) cls = classCode(t);
      else break;
    }
    const typeToken = fields[i];
    if (!typeToken) throw new ZoneParseError(scope.file, line, `record for ${owner} has no type`);
    const type = typeCode(typeToken.text);
    if (type === undefined || typeToken.quoted) throw new ZoneParseError(scope.file, line, `unknown RR type '${typeToken.text}'`);
    if (META_TYPES.has(type)) throw new ZoneParseError(scope.file, line, `type ${typeName(type)} cannot appear in a zone file`);
    if (cls !== undefined && cls !== zoneClass) throw new ZoneParseError(scope.file, line, `class ${className(cls)} does not match the zone's class ${className(zoneClass)}`);
    let offset: number;
    let length: number;
    try {
      const value = fields[i + 1];
      if ((type === T.A || type === T.AAAA) && fields.length === i + 2 && !value.quoted && value.text !== '\\#') {
        offset = store.reserve(16);
        length = writeAddress(type, value.text, store.arena, offset);
      } else {
        const rdata = encodeRdata(type, fields, scope.origin, i + 1);
        offset = store.reserve(rdata.length);
        length = rdata.copy(store.arena, offset);
      }
    } catch (e) {
      if (e instanceof RdataError) throw new ZoneParseError(scope.file, line, `${typeName(type)} record for ${owner}: ${e.message}`);
      throw e;
    }
    addRecord(scope, line, owner, ttl, type, offset, length);
  };

  /** `$GENERATE range lhs [ttl] [class] type rhs`, with BIND's `${offset,width,base}` modifiers. */
  const generate = (entry: Entry, scope: Scope) => {
    const fail = (message: string): never => {
      throw new ZoneParseError(scope.file, entry.line, `$GENERATE: ${message}`);
    };
    const t = entry.tokens;
    if (t.length < 4) fail('needs a range, an owner, a type and RDATA');
    const range = /^(\d+)-(\d+)(?:\/(\d+))?$/.exec(t[1].text);
    if (!range) return fail(`bad range '${t[1].text}' (expected start-stop[/step])`);
    const [start, stop, step] = [Number(range[1]), Number(range[2]), Number(range[3] ?? 1)];
    if (start > stop || step < 1) fail(`bad range '${t[1].text}'`);
    if ((stop - start) / step + 1 > MAX_GENERATE) fail(`range '${t[1].text}' makes more than ${MAX_GENERATE} records`);
    const fields = t.slice(3);
    for (let n = start; n <= stop; n += step) {
      const owner = parseName(substitute(t[2].text, n, fail), scope.origin);
      const substituted = fields.map((f) => ({ text: substitute(f.text, n, fail), quoted: f.quoted }));
      // A quoted RHS holding several fields ("10 mail$") is split like unquoted text would be.
      const typeAt = substituted.findIndex((f, idx) => idx < 3 && !f.quoted && typeCode(f.text) !== undefined && !isTtl(f.text));
      const expanded = substituted.flatMap((f, idx) => (idx > typeAt && f.quoted && typeAt >= 0 && /\s/.test(f.text) ? f.text.trim().split(/\s+/).map((text) => ({ text, quoted: false })) : [f]));
      record(scope, entry.line, owner, expanded);
    }
  };

  const scope: Scope = { file: fileName, origin: zoneOrigin, owner: undefined };
  parseFile(text, scope, 0);
  return finish(zoneOrigin, originKey, zoneClass, store, index, recordCount, warnings, fileName);
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
 * Checks the whole zone the way BIND's loader does and derives the lookup structure, without
 * building per-record objects.
 */
function finish(origin: string, originKey: string, zoneClass: number, store: RecordStore, index: Map<string, number>, recordCount: number, warnings: ZoneWarning[], fileName: string): Zone {
  const apex = index.get(originKey);
  const fail = (rr: number, message: string): never => {
    throw new ZoneParseError(...at(store, rr), message);
  };
  let soaCount = 0;
  let soaRecord = -1;
  let apexNs = false;
  if (apex !== undefined) {
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

  const nsec3Index = new Map<string, number>();
  const delegations = new Set<string>();
  const dnames = new Set<string>();
  const wildcards = new Set<string>();
  const nsRecords: number[] = [];
  let signed = false;
  const types: number[] = [];
  for (const [key, id] of index) {
    const first = store.nodeFirst[id];
    types.length = 0;
    let cname = -1;
    let dname = -1;
    for (let rr = first; rr >= 0; rr = store.rrNext[rr]) {
      const type = store.rrType[rr];
      if (!types.includes(type)) types.push(type);
      if (type === T.SOA && id !== apex) fail(rr, `SOA record for ${store.names[id]} is not at the top of the zone`);
      if (type === T.CNAME) {
        if (cname >= 0 && !store.rdataEquals(cname, rr)) fail(rr, `more than one CNAME at ${store.names[id]}`);
        cname = rr;
      } else if (type === T.DNAME) {
        if (dname >= 0 && !store.rdataEquals(dname, rr)) fail(rr, `more than one DNAME at ${store.names[id]}`);
        dname = rr;
      } else if (type === T.NS) {
        nsRecords.push(rr);
      } else if (type === T.RRSIG || type === T.DNSKEY || type === T.NSEC3) {
        signed = true;
      }
    }
    if (cname >= 0) {
      for (let rr = first; rr >= 0; rr = store.rrNext[rr]) {
        const type = store.rrType[rr];
        if (type !== T.CNAME && type !== T.RRSIG && type !== T.NSEC && type !== T.KEY) fail(rr, `CNAME and other data at ${store.names[id]} (${typeName(type)})`);
      }
    }
    if (types.includes(T.NSEC3) && types.every((t) => t === T.NSEC3 || t === T.RRSIG)) {
      // NSEC3 records live in a namespace of their own: named answers their owner names with
      // NXDOMAIN, and they make no empty non-terminals.
      nsec3Index.set(key, id);
      continue;
    }
    if (id !== apex && types.includes(T.NS)) delegations.add(key);
    if (dname >= 0) dnames.add(key);
    if (key.startsWith('*.')) wildcards.add(key);
  }
  for (const key of nsec3Index.keys()) index.delete(key);
  const emptyNonTerminals = new Set<string>();
  for (const key of index.keys()) addEmptyNonTerminals(key, originKey, index, emptyNonTerminals);
  checkNameServerAddresses(origin, originKey, store, index, nsRecords);
  store.trim();
  return new Zone({ origin, class: zoneClass, store, index, nsec3Index, delegations, dnames, wildcards, emptyNonTerminals, signed, recordCount, warnings });
}

/**
 * BIND's check-integrity (on for primary zones): an NS name inside the zone must have an
 * address record, otherwise the zone does not load.
 */
function checkNameServerAddresses(origin: string, originKey: string, store: RecordStore, index: Map<string, number>, nsRecords: number[]): void {
  for (const rr of nsRecords) {
    const target = nameFromWire(store.rdata(rr), 0).name;
    const key = nameKey(target);
    if (!isSubdomainKey(key, originKey)) continue;
    const id = index.get(key);
    let hasAddress = false;
    if (id !== undefined) {
      for (let r = store.nodeFirst[id]; r >= 0 && !hasAddress; r = store.rrNext[r]) hasAddress = store.rrType[r] === T.A || store.rrType[r] === T.AAAA;
    }
    if (!hasAddress) {
      const owner = store.names[ownerOf(store, rr)];
      throw new ZoneParseError(...at(store, rr), `NS '${target}' of ${owner} is inside zone ${origin} but has no address records (A or AAAA)`);
    }
  }
}

/** The node a record belongs to (a scan: only used on the error path). */
function ownerOf(store: RecordStore, record: number): number {
  for (let id = 0; id < store.nodeCount; id++) for (let rr = store.nodeFirst[id]; rr >= 0; rr = store.rrNext[rr]) if (rr === record) return id;
  return 0;
}
