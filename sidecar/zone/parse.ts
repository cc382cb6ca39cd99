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
import { Zone, ZoneNode, RRset, ZoneWarning } from './model';
import { isSubdomainKey, nameKey, nameFromWire, parseName, NameError } from './name';
import { encodeRdata, isTtl, parseTtl, RdataError, Token } from './rdata';
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

interface PendingRRset {
  name: string;
  ttl: number;
  rdata: Buffer[];
  line: number;
  file: string;
}

interface PendingNode {
  name: string;
  rrsets: Map<number, PendingRRset>;
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
  const nodes = new Map<string, PendingNode>();
  const warnings: ZoneWarning[] = [];
  let defaultTtl: number | undefined;
  let lastTtl: number | undefined;
  let soaMinimum: number | undefined;
  let recordCount = 0;

  const addRecord = (scope: Scope, line: number, owner: string, ttl: number | undefined, type: number, rdata: Buffer) => {
    const key = nameKey(owner);
    if (!isSubdomainKey(key, originKey)) {
      warnings.push({ file: scope.file, line, message: `ignoring out-of-zone data (${owner})` });
      return;
    }
    if (type === T.SOA && key === originKey) soaMinimum = rdata.readUInt32BE(rdata.length - 4);
    let effectiveTtl = ttl ?? defaultTtl ?? lastTtl ?? soaMinimum;
    if (effectiveTtl === undefined) throw new ZoneParseError(scope.file, line, 'no TTL specified and no $TTL or SOA to take it from');
    if (ttl !== undefined) lastTtl = ttl;
    let node = nodes.get(key);
    if (!node) {
      node = { name: owner, rrsets: new Map() };
      nodes.set(key, node);
    }
    const set = node.rrsets.get(type);
    if (!set) {
      node.rrsets.set(type, { name: owner, ttl: effectiveTtl, rdata: [rdata], line, file: scope.file });
    } else {
      if (set.ttl !== effectiveTtl) {
        warnings.push({ file: scope.file, line, message: `TTL ${effectiveTtl} differs from the RRset's TTL ${set.ttl}: using ${set.ttl} as BIND does` });
        effectiveTtl = set.ttl;
      }
      if (set.rdata.length < 64 ? set.rdata.some((r) => r.equals(rdata)) : false) return;
      set.rdata.push(rdata);
    }
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
    let rest: Token[];
    if (entry.blankOwner) {
      if (scope.owner === undefined) throw new ZoneParseError(scope.file, entry.line, 'record without an owner name and no previous owner to inherit');
      owner = scope.owner;
      rest = tokens;
    } else {
      owner = parseName(first.text, scope.origin);
      rest = tokens.slice(1);
    }
    scope.owner = owner;
    record(scope, entry.line, owner, rest);
  };

  const record = (scope: Scope, line: number, owner: string, fields: Token[]) => {
    let ttl: number | undefined;
    let cls: number | undefined;
    let i = 0;
    for (; i < 2 && i < fields.length; i++) {
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
    let rdata: Buffer;
    try {
      rdata = encodeRdata(type, fields.slice(i + 1), scope.origin);
    } catch (e) {
      if (e instanceof RdataError) throw new ZoneParseError(scope.file, line, `${typeName(type)} record for ${owner}: ${e.message}`);
      throw e;
    }
    addRecord(scope, line, owner, ttl, type, rdata);
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
  return finish(zoneOrigin, originKey, zoneClass, nodes, recordCount, warnings, fileName);
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

/** Canonical RDATA order for sorting: names in lower case for the types RFC 4034 6.2 lists. */
function canonical(type: number, rdata: Buffer): Buffer {
  const nameAt = type === T.NS || type === T.CNAME || type === T.PTR || type === T.DNAME ? 0 : type === T.MX || type === T.AFSDB || type === T.KX ? 2 : type === T.SRV ? 6 : -1;
  if (nameAt < 0) return rdata;
  const out = Buffer.from(rdata);
  for (let i = nameAt; i < out.length; i++) if (out[i] >= 0x41 && out[i] <= 0x5a) out[i] |= 0x20;
  return out;
}

function finish(origin: string, originKey: string, zoneClass: number, pending: Map<string, PendingNode>, recordCount: number, warnings: ZoneWarning[], fileName: string): Zone {
  const apex = pending.get(originKey);
  const soa = apex?.rrsets.get(T.SOA);
  if (!soa) throw new ZoneParseError(fileName, 0, `zone ${origin} has no SOA record at its apex`);
  if (soa.rdata.length > 1) throw new ZoneParseError(soa.file, soa.line, `zone ${origin} has more than one SOA record`);
  if (!apex?.rrsets.get(T.NS)) throw new ZoneParseError(soa.file, soa.line, `zone ${origin} has no NS records at its apex`);
  const nodes = new Map<string, ZoneNode>();
  const nsec3 = new Map<string, ZoneNode>();
  for (const [key, node] of pending) {
    const soaHere = node.rrsets.get(T.SOA);
    if (soaHere && key !== originKey) throw new ZoneParseError(soaHere.file, soaHere.line, `SOA record for ${node.name} is not at the top of the zone`);
    const cname = node.rrsets.get(T.CNAME);
    if (cname) {
      if (cname.rdata.length > 1) throw new ZoneParseError(cname.file, cname.line, `more than one CNAME at ${node.name}`);
      for (const [type, set] of node.rrsets) {
        if (type !== T.CNAME && type !== T.RRSIG && type !== T.NSEC && type !== T.KEY) {
          throw new ZoneParseError(set.file, set.line, `CNAME and other data at ${node.name} (${typeName(type)})`);
        }
      }
    }
    const dname = node.rrsets.get(T.DNAME);
    if (dname && dname.rdata.length > 1) throw new ZoneParseError(dname.file, dname.line, `more than one DNAME at ${node.name}`);
    const rrsets = new Map<number, RRset>();
    for (const [type, set] of node.rrsets) {
      const sorted = set.rdata.length > 1 ? dedupeSorted(type, set.rdata) : set.rdata;
      rrsets.set(type, Object.freeze({ name: set.name, type, ttl: set.ttl, rdata: Object.freeze(sorted) }));
    }
    // NSEC3 records live in a namespace of their own: named answers their owner names with
    // NXDOMAIN, and they make no empty non-terminals.
    const onlyNsec3 = rrsets.has(T.NSEC3) && [...rrsets.keys()].every((t) => t === T.NSEC3 || t === T.RRSIG);
    (onlyNsec3 ? nsec3 : nodes).set(key, Object.freeze({ name: node.name, rrsets }));
  }
  checkNameServerAddresses(origin, originKey, pending);
  return new Zone({ origin, class: zoneClass, nodes, nsec3, recordCount, warnings });
}

function dedupeSorted(type: number, rdata: Buffer[]): Buffer[] {
  const keyed = rdata.map((r) => ({ r, c: canonical(type, r) })).sort((a, b) => Buffer.compare(a.c, b.c));
  const out: Buffer[] = [];
  for (let i = 0; i < keyed.length; i++) if (i === 0 || !keyed[i].c.equals(keyed[i - 1].c)) out.push(keyed[i].r);
  return out;
}

/**
 * BIND's check-integrity (on for primary zones): an NS name inside the zone must have an
 * address record, otherwise the zone does not load.
 */
function checkNameServerAddresses(origin: string, originKey: string, pending: Map<string, PendingNode>): void {
  for (const node of pending.values()) {
    const ns = node.rrsets.get(T.NS);
    if (!ns) continue;
    for (const r of ns.rdata) {
      const target = nameFromWire(r, 0).name;
      const key = nameKey(target);
      if (!isSubdomainKey(key, originKey)) continue;
      const t = pending.get(key);
      if (!t || (!t.rrsets.has(T.A) && !t.rrsets.has(T.AAAA))) {
        throw new ZoneParseError(ns.file, ns.line, `NS '${target}' of ${node.name} is inside zone ${origin} but has no address records (A or AAAA)`);
      }
    }
  }
}
