/**
 * Reads the parts of a BIND named.conf that Santa needs: where zone files are, which zones can be
 * answered without knowing the client, and the options that shape responses.
 *
 * `readNamedConf` does the file I/O (the main file and its includes); `interpretNamedConf` is the
 * pure part and takes the include loader as a function.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { aclsOf, addressMatchList, type AddressPrefix } from './address-match';
import { NamedConfError, parseStatements, Location, Statement } from './syntax';

export { NamedConfError } from './syntax';

export interface ListenOn {
  port?: number;
  /** Address match list elements as written (`any`, `127.0.0.1`, `!10/8`, `{}` for nested lists). */
  addresses: string[];
  /** The statement itself, for address-match.ts. */
  statement: Statement;
}

export type MinimalResponses = 'yes' | 'no' | 'no-auth' | 'no-auth-recursive';

export interface NamedOptions {
  /** Absolute; zone files are resolved against it. */
  directory: string;
  listenOn: ListenOn[];
  listenOnV6: ListenOn[];
  /** BIND 9.18 default: no-auth-recursive. */
  minimalResponses: MinimalResponses;
  /** BIND 9.18 default 1232. */
  ednsUdpSize: number;
  /** BIND 9.18 default 1232. */
  maxUdpSize: number;
  cookieSecrets: string[];
  /** `cookie-algorithm` when set (BIND 9.18's default is siphash24). */
  cookieAlgorithm?: string;
  /** `answer-cookie` when set (default yes). */
  answerCookie?: boolean;
  /** `require-server-cookie` when set (default no): a query without a valid server cookie gets BADCOOKIE. */
  requireServerCookie?: boolean;
  /** `rate-limit { ... }` statements as raw `name -> value` strings (e.g. `responses-per-second: "10"`). */
  rateLimit?: Record<string, string>;
  /** The `rate-limit` statement itself, with locations, for readers that need its nested lists. */
  rateLimitStatement?: Statement;
  /** BIND's default is yes; Santa only answers for servers where it is no. */
  recursion: boolean;
  /** Raw `allow-query` elements when set in options. */
  allowQuery?: string[];
  /** `dnssec-policy` when set in options: zones without their own inherit it (through their view's). */
  dnssecPolicy?: string;
  /** Raw `allow-update` elements when set in options (inherited like dnssec-policy). */
  allowUpdate?: string[];
  /** Raw `allow-query-on` elements when set in options (inherited like allow-query). */
  allowQueryOn?: string[];
  /** The `blackhole` statement (clients named drops unanswered), for address-match.ts. */
  blackhole?: Statement;
  /** `nocookie-udp-size` as named applies it (raised to 128, cut to max-udp-size), when set:
   * the most a UDP reply to a query without a valid server cookie may hold. */
  nocookieUdpSize?: number;
}

export interface ZoneConfig {
  /** Absolute zone name without the trailing dot, lower case (root is ".") */
  name: string;
  view?: string;
  class: string;
  type: string;
  /** Absolute path, resolved against `directory`; absent when the zone has no file. */
  file?: string;
  /** Whether Santa may answer for it from the file; `reason` says why not. */
  offloadable: boolean;
  reason?: string;
  /**
   * named signs the zone itself (`inline-signing yes`, usually with a `dnssec-policy`): the file
   * holds the unsigned data, named serves it signed under a serial of its own. Only answers that
   * signing cannot change are built from the file (see response/named-signed.ts).
   */
  signedByNamed?: boolean;
  /**
   * BIND's data for the zone can change before its file does: dynamic updates (`allow-update`,
   * `update-policy`) or, for a secondary, transfers. Otherwise only a reload of an edited file
   * changes it (and for a zone named signs, its re-signing, which leaves the answers Santa builds
   * alone).
   */
  dynamic: boolean;
  /** The zone statement as parsed, without its position: equal texts configure the zone alike. */
  statementText: string;
  /** Why Santa cannot read the zone file although named can (a secondary's copy in raw format):
   * such a zone can only be served from a transfer (bind.secondary_zones: transfer). */
  fileUnreadable?: string;
  at: Location;
}

/** What a zone inherits from its view, or from options when the view does not say. */
interface Inherited {
  allowQuery?: string[];
  allowQueryOn?: string[];
  dnssecPolicy?: string;
  allowUpdate?: string[];
}

/**
 * A way zones come and go in named without named.conf changing: `allow-new-zones` (rndc addzone,
 * delzone and modzone; named keeps such zones in a <view>.nzf or .nzd file in `directory`) or
 * `catalog-zones` (a secondary adds and removes the zones a catalog zone lists).
 */
export type ZoneSetSource =
  | { kind: 'allow-new-zones'; view?: string; directory: string; at: Location }
  | { kind: 'catalog-zones'; view?: string; catalogs: string[]; at: Location };

export interface NamedConf {
  options: NamedOptions;
  zones: ZoneConfig[];
  /** Where zones not in named.conf may appear under (or replace) the ones it lists. */
  zoneSetSources: ZoneSetSource[];
  /** Every statement but the zone statements (views without theirs), as parsed, without
   * positions: equal layouts mean every zone is configured around alike (conf-changes.ts). */
  layout: string;
  /** `acl name { ... };` statements by name, for the address match lists that name them. */
  acls: ReadonlyMap<string, Statement>;
  /** Every file read, the main one first: what a watcher must watch. */
  files: string[];
}

export interface ReadOptions {
  /**
   * Directory relative `include` paths are resolved against. named resolves them against its
   * working directory; the default here is the main file's directory.
   */
  includeBase?: string;
  /**
   * Use this instead of the `directory` option, e.g. when named runs chrooted or the zone
   * files were copied elsewhere.
   */
  directory?: string;
}

export function readNamedConf(file: string, opts: ReadOptions = {}): NamedConf {
  const main = path.resolve(file);
  const base = opts.includeBase ?? path.dirname(main);
  return interpretNamedConf(fs.readFileSync(main, 'utf8'), main, (p) => fs.readFileSync(p, 'utf8'), base, opts.directory);
}

/** Pure: parses `text` (from `file`), loading includes through `load`. */
export function interpretNamedConf(text: string, file: string, load: (absPath: string) => string, includeBase = path.dirname(file), directory?: string): NamedConf {
  const files = [file];
  const statements = expandIncludes(parseStatements(text, file), load, includeBase, files, [file]);
  const optionsBlock = statements.find((s) => s.name === 'options')?.block ?? [];
  const options = readOptions(optionsBlock, includeBase);
  if (directory !== undefined) options.directory = path.resolve(includeBase, directory);
  // Only the first view's zones can be offloaded (a later one may not see every client): what
  // it sets over options is what its zones are answered with.
  const firstView = statements.find((s) => s.name === 'view');
  if (firstView) applyResponseOptions(options, firstView.block ?? []);
  clampNocookieUdpSize(options);
  const zones: ZoneConfig[] = [];
  const globalRestriction = scopeRestriction(optionsBlock, statements);
  let viewIndex = 0;
  for (const s of statements) {
    if (s.name === 'zone') {
      const zone = readZone(s, options, undefined, { allowQuery: options.allowQuery, allowQueryOn: options.allowQueryOn, dnssecPolicy: options.dnssecPolicy, allowUpdate: options.allowUpdate });
      if (globalRestriction && zone.offloadable) {
        zone.offloadable = false;
        zone.reason = globalRestriction;
      }
      zones.push(zone);
    }
    if (s.name === 'view') {
      const viewName = s.args[0];
      if (!viewName) throw new NamedConfError(s.at.file, s.at.line, 'view without a name');
      const block = s.block ?? [];
      const whyClientSpecific = viewRestriction(block, viewIndex) ?? scopeRestriction(block, block) ?? globalRestriction;
      const inherited: Inherited = {
        allowQuery: listOf(block, 'allow-query') ?? options.allowQuery,
        allowQueryOn: listOf(block, 'allow-query-on') ?? options.allowQueryOn,
        dnssecPolicy: single(block, 'dnssec-policy') ?? options.dnssecPolicy,
        allowUpdate: listOf(block, 'allow-update') ?? options.allowUpdate,
      };
      for (const z of block.filter((b) => b.name === 'zone')) {
        const zone = readZone(z, options, viewName, inherited);
        if (whyClientSpecific && zone.offloadable) {
          zone.offloadable = false;
          zone.reason = whyClientSpecific;
        }
        zones.push(zone);
      }
      viewIndex++;
    }
  }
  return { options, zones, zoneSetSources: zoneSetSources(optionsBlock, statements, options.directory), layout: layoutText(statements), acls: aclsOf(statements), files };
}

/** A statement as parsed, positions left out. */
function statementText(s: Statement): string {
  return JSON.stringify(plain(s));
}

function plain(s: Statement): unknown[] {
  return s.block ? [s.name, s.args, s.block.map(plain)] : [s.name, s.args];
}

function layoutText(statements: Statement[]): string {
  const withoutZones = (list: Statement[]): unknown[] =>
    list.filter((s) => s.name !== 'zone').map((s) => (s.name === 'view' && s.block ? [s.name, s.args, withoutZones(s.block)] : plain(s)));
  return JSON.stringify(withoutZones(statements));
}

/** allow-new-zones (set in options, or in a view over options) and catalog-zones, per view. */
function zoneSetSources(optionsBlock: Statement[], statements: Statement[], directory: string): ZoneSetSource[] {
  const views = statements.filter((s) => s.name === 'view');
  const scopes: Array<{ view?: string; block: Statement[] }> = views.length ? views.map((v) => ({ view: v.args[0], block: v.block ?? [] })) : [{ block: [] }];
  const sources: ZoneSetSource[] = [];
  for (const { view, block } of scopes) {
    const allow = statement(block, 'allow-new-zones') ?? statement(optionsBlock, 'allow-new-zones');
    if (allow && booleanValue(allow)) {
      const dir = single(block, 'new-zones-directory') ?? single(optionsBlock, 'new-zones-directory');
      sources.push({ kind: 'allow-new-zones', ...(view !== undefined ? { view } : {}), directory: dir === undefined ? directory : path.resolve(directory, dir), at: allow.at });
    }
    const catalog = statement(block, 'catalog-zones') ?? statement(optionsBlock, 'catalog-zones');
    if (catalog) {
      const catalogs = (catalog.block ?? []).filter((z) => z.name === 'zone' && z.args[0] !== undefined).map((z) => canonicalZoneName(z.args[0]));
      sources.push({ kind: 'catalog-zones', ...(view !== undefined ? { view } : {}), catalogs, at: catalog.at });
    }
  }
  return sources;
}

/** named's `blackhole` list, flattened (address-match.ts); empty without one. Throws
 * NamedConfError at the statement when the list cannot be matched the way BIND matches it. */
export function blackholeList(conf: NamedConf): AddressPrefix[] {
  const s = conf.options.blackhole;
  if (!s) return [];
  const fail = (problem: string) => new NamedConfError(s.at.file, s.at.line, `blackhole: ${problem}`);
  if (s.args.length) throw fail('expects an address match list { ... }');
  return addressMatchList(s, conf.acls, fail);
}

function expandIncludes(list: Statement[], load: (p: string) => string, base: string, files: string[], stack: string[]): Statement[] {
  const out: Statement[] = [];
  for (const s of list) {
    if (s.name === 'include') {
      if (s.args.length !== 1) throw new NamedConfError(s.at.file, s.at.line, 'include needs exactly one file name');
      const target = path.resolve(base, s.args[0]);
      if (stack.includes(target)) throw new NamedConfError(s.at.file, s.at.line, `include loop: ${target}`);
      let text: string;
      try {
        text = load(target);
      } catch (e) {
        throw new NamedConfError(s.at.file, s.at.line, `cannot read include ${target}: ${(e as Error).message}`);
      }
      files.push(target);
      out.push(...expandIncludes(parseStatements(text, target), load, base, files, [...stack, target]));
    } else if (s.block) {
      out.push({ ...s, block: expandIncludes(s.block, load, base, files, stack) });
    } else {
      out.push(s);
    }
  }
  return out;
}

const MINIMAL_RESPONSES = new Set(['yes', 'no', 'no-auth', 'no-auth-recursive']);

function readOptions(block: Statement[], base: string): NamedOptions {
  const dir = single(block, 'directory');
  const options: NamedOptions = {
    directory: path.resolve(base, dir ?? '.'),
    listenOn: block.filter((s) => s.name === 'listen-on').map(readListen),
    listenOnV6: block.filter((s) => s.name === 'listen-on-v6').map(readListen),
    minimalResponses: 'no-auth-recursive',
    ednsUdpSize: 1232,
    maxUdpSize: 1232,
    cookieSecrets: block.filter((s) => s.name === 'cookie-secret').map(cookieSecret),
    recursion: true,
  };
  applyResponseOptions(options, block);
  // The cookie statements decide which cookie-bearing queries XDP may answer like BIND.
  const algorithm = single(block, 'cookie-algorithm');
  if (algorithm !== undefined) options.cookieAlgorithm = algorithm;
  const answerCookie = statement(block, 'answer-cookie');
  if (answerCookie) options.answerCookie = booleanValue(answerCookie);
  const allowQuery = listOf(block, 'allow-query');
  if (allowQuery) options.allowQuery = allowQuery;
  const allowQueryOn = listOf(block, 'allow-query-on');
  if (allowQueryOn) options.allowQueryOn = allowQueryOn;
  const blackhole = statement(block, 'blackhole');
  if (blackhole) options.blackhole = blackhole;
  const dnssecPolicy = single(block, 'dnssec-policy');
  if (dnssecPolicy !== undefined) options.dnssecPolicy = dnssecPolicy;
  const allowUpdate = listOf(block, 'allow-update');
  if (allowUpdate) options.allowUpdate = allowUpdate;
  return options;
}

/**
 * The statements that shape responses and that a view may set as well as options: read from
 * `block` over what `options` holds (options first, then the view whose zones Santa serves).
 */
function applyResponseOptions(options: NamedOptions, block: Statement[]): void {
  const minimal = statement(block, 'minimal-responses');
  if (minimal) {
    const value = normaliseBoolean(minimal.args[0] ?? '');
    if (!MINIMAL_RESPONSES.has(value)) {
      throw new NamedConfError(minimal.at.file, minimal.at.line, `minimal-responses: expected yes, no, no-auth or no-auth-recursive, got '${minimal.args[0] ?? ''}'`);
    }
    options.minimalResponses = value as MinimalResponses;
  }
  options.ednsUdpSize = sizeOption(block, 'edns-udp-size') ?? options.ednsUdpSize;
  options.maxUdpSize = sizeOption(block, 'max-udp-size') ?? options.maxUdpSize;
  const nocookie = statement(block, 'nocookie-udp-size');
  if (nocookie) options.nocookieUdpSize = integer(nocookie, nocookie.args[0], 'nocookie-udp-size', 0, 65535);
  const recursion = statement(block, 'recursion');
  if (recursion) options.recursion = booleanValue(recursion);
  const requireServerCookie = statement(block, 'require-server-cookie');
  if (requireServerCookie) options.requireServerCookie = booleanValue(requireServerCookie);
  const rateLimit = statement(block, 'rate-limit');
  if (rateLimit) {
    options.rateLimit = {};
    options.rateLimitStatement = rateLimit;
    for (const r of rateLimit.block ?? []) options.rateLimit[r.name] = r.args.join(' ');
  }
}

/** nocookie-udp-size as named applies it, once max-udp-size is known: raised to 128, cut to max-udp-size. */
function clampNocookieUdpSize(options: NamedOptions): void {
  if (options.nocookieUdpSize !== undefined) options.nocookieUdpSize = Math.min(options.maxUdpSize, Math.max(128, options.nocookieUdpSize));
}

function readListen(s: Statement): ListenOn {
  const listen: ListenOn = { addresses: (s.block ?? []).map((e) => (e.name === '!' ? `!${e.args[0] ?? ''}` : e.name)), statement: s };
  const portAt = s.args.indexOf('port');
  if (portAt >= 0) listen.port = integer(s, s.args[portAt + 1], 'port', 0, 65535);
  return listen;
}

/** BIND clamps edns-udp-size and max-udp-size to 512..4096; it does the same here. */
function sizeOption(block: Statement[], name: string): number | undefined {
  const s = statement(block, name);
  if (!s) return undefined;
  return Math.min(4096, Math.max(512, integer(s, s.args[0], name, 0, 65535)));
}

function readZone(s: Statement, options: NamedOptions, view: string | undefined, inherited: Inherited): ZoneConfig {
  const rawName = s.args[0];
  if (rawName === undefined) throw new NamedConfError(s.at.file, s.at.line, 'zone without a name');
  const block = s.block ?? [];
  const type = normaliseType(single(block, 'type') ?? (block.some((b) => b.name === 'in-view') ? 'in-view' : ''));
  const fileName = single(block, 'file');
  const zone: ZoneConfig = {
    name: canonicalZoneName(rawName),
    class: (s.args[1] ?? 'IN').toUpperCase(),
    type,
    offloadable: true,
    dynamic: type === 'secondary' || statement(block, 'update-policy') !== undefined || updatesAllowed(listOf(block, 'allow-update') ?? inherited.allowUpdate),
    statementText: statementText(s),
    at: s.at,
  };
  if (view !== undefined) zone.view = view;
  if (fileName !== undefined) zone.file = path.resolve(options.directory, fileName);
  const refuse = (reason: string) => {
    if (zone.offloadable) {
      zone.offloadable = false;
      zone.reason = reason;
    }
  };
  if (type === '') throw new NamedConfError(s.at.file, s.at.line, `zone '${rawName}' has no type`);
  if (type !== 'primary' && type !== 'secondary') refuse(`type ${type} zones are not served from a zone file`);
  if (zone.class !== 'IN') refuse(`class ${zone.class} is not served by Santa`);
  if (fileName === undefined && type === 'secondary') zone.fileUnreadable = 'no zone file (named keeps the secondary in memory)';
  else if (fileName === undefined) refuse('no zone file');
  else if (type === 'secondary' && (single(block, 'masterfile-format') ?? 'raw') !== 'text') {
    zone.fileUnreadable = 'secondary zone files are in raw format unless masterfile-format text';
  }
  const inlineSigning = normaliseBoolean(single(block, 'inline-signing') ?? 'no') === 'yes';
  const policy = single(block, 'dnssec-policy') ?? inherited.dnssecPolicy;
  if (inlineSigning) zone.signedByNamed = true;
  else if (policy !== undefined && policy !== 'none') {
    // Without inline-signing (named 9.18 accepts that only for dynamic zones) named signs the
    // zone in place: what it serves lives in its journal, and the file is rewritten under us.
    refuse(`named signs this zone in place (dnssec-policy ${policy} without inline-signing): the data it serves is in its journal, not the file`);
  }
  if (statement(block, 'database') || statement(block, 'dlz')) refuse('zone data comes from a database, not a file');
  const allowQuery = listOf(block, 'allow-query') ?? inherited.allowQuery;
  if (allowQuery && !isAny(allowQuery)) refuse('allow-query is not "any": the answer depends on the client');
  const allowQueryOn = listOf(block, 'allow-query-on') ?? inherited.allowQueryOn;
  if (allowQueryOn && !isAny(allowQueryOn)) refuse('allow-query-on is not "any": the answer depends on the address the query was sent to');
  if (options.recursion) refuse('recursion is enabled: RA and answers depend on the client');
  return zone;
}

/** An `allow-update` list that lets anyone update (anything but `{ none; }`). */
function updatesAllowed(list: string[] | undefined): boolean {
  return list !== undefined && !(list.length === 1 && list[0] === 'none');
}

/**
 * Why every answer in a scope (options and the top level, or a view) may depend on the client
 * in ways a verification from one address cannot see: AAAA synthesis per client (dns64), query
 * plugins (filter-aaaa drops AAAA records for some clients), a largest reply set per client
 * (`server { max-udp-size }`, which also decides how named trims the additional section).
 */
function scopeRestriction(options: Statement[], scope: Statement[]): string | null {
  if (options.some((s) => s.name === 'dns64')) return 'dns64 synthesizes AAAA answers per client';
  const plugin = scope.find((s) => s.name === 'plugin');
  if (plugin) return `plugin ${plugin.args.join(' ')} may change answers per client`;
  const server = scope.find((s) => s.name === 'server' && statement(s.block ?? [], 'max-udp-size'));
  if (server) return `server ${server.args[0] ?? ''} sets max-udp-size: the largest answer depends on the client`;
  return null;
}

/** Why a view's answers depend on the client (null when any client gets them). */
function viewRestriction(block: Statement[], viewIndex: number): string | null {
  for (const key of ['match-clients', 'match-destinations']) {
    const list = listOf(block, key);
    if (list && !isAny(list)) return `view ${key} is not "any": the answer depends on the client`;
  }
  if (block.some((s) => s.name === 'match-recursive-only' && booleanValue(s))) return 'view matches recursive queries only';
  if (viewIndex > 0) return 'an earlier view may take some clients: the answer depends on the client';
  return null;
}

function isAny(list: string[]): boolean {
  return list.length === 1 && list[0] === 'any';
}

function listOf(block: Statement[], name: string): string[] | undefined {
  const s = statement(block, name);
  return s ? (s.block ?? []).map((e) => (e.name === '!' ? `!${e.args[0] ?? ''}` : e.name)) : undefined;
}

function statement(block: Statement[], name: string): Statement | undefined {
  // BIND rejects duplicates; the last one is the safer guess if a config has them anyway.
  let found: Statement | undefined;
  for (const s of block) if (s.name === name) found = s;
  return found;
}

function cookieSecret(s: Statement): string {
  if (s.args[0] === undefined) throw new NamedConfError(s.at.file, s.at.line, 'cookie-secret: expected a quoted hex secret');
  return s.args[0];
}

function single(block: Statement[], name: string): string | undefined {
  return statement(block, name)?.args[0];
}

function integer(s: Statement, text: string | undefined, what: string, min: number, max: number): number {
  const value = Number(text);
  if (text === undefined || !/^\d+$/.test(text) || value < min || value > max) {
    throw new NamedConfError(s.at.file, s.at.line, `${what}: expected a number from ${min} to ${max}, got '${text ?? ''}'`);
  }
  return value;
}

function normaliseBoolean(v: string): string {
  const lower = v.toLowerCase();
  if (lower === 'true' || lower === '1') return 'yes';
  if (lower === 'false' || lower === '0') return 'no';
  return lower;
}

function booleanValue(s: Statement): boolean {
  const v = normaliseBoolean(s.args[0] ?? '');
  if (v !== 'yes' && v !== 'no') throw new NamedConfError(s.at.file, s.at.line, `${s.name}: expected yes or no, got '${s.args[0] ?? ''}'`);
  return v === 'yes';
}

function normaliseType(t: string): string {
  const lower = t.toLowerCase();
  if (lower === 'master') return 'primary';
  if (lower === 'slave') return 'secondary';
  return lower;
}

function canonicalZoneName(name: string): string {
  if (name === '.' || name === '') return '.';
  return name.replace(/\.$/, '').toLowerCase();
}
