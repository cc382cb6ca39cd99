/**
 * named.conf `rate-limit { ... }` -> the rate limits the XDP program applies to its own
 * replies, with BIND 9.18's defaults and ranges. Pure: takes the parsed statement.
 *
 * Every statement BIND accepts there is either implemented, or refused with an error naming
 * it and where it is, so no setting that changes behaviour is silently dropped. Two only size
 * BIND's table (max-table-size, min-table-size): they are accepted and reported as notes.
 */
import { addressMatchList, type AddressPrefix } from '../named-conf/address-match';
import type { Statement } from '../named-conf/syntax';
import { NamedConfError } from '../named-conf/syntax';


/** An exempt-clients element (first match in list order decides). */
export type RrlPrefix = AddressPrefix;

export interface RrlConfig {
  /** Per second, 0 = not limited. */
  responsesPerSecond: number;
  referralsPerSecond: number;
  nodataPerSecond: number;
  nxdomainsPerSecond: number;
  errorsPerSecond: number;
  allPerSecond: number;
  /** Seconds, 1..3600. */
  window: number;
  /** 0..10: every slip-th limited reply goes out truncated; 0 never. */
  slip: number;
  ipv4PrefixLength: number;
  ipv6PrefixLength: number;
  /** In list order: the first match decides. */
  exemptClients: RrlPrefix[];
  logOnly: boolean;
  /** Statements accepted that do not change what the program does (for the log). */
  notes: string[];
}

/** BIND's DNS_RRL_MAX_RATE, DNS_RRL_MAX_WINDOW, DNS_RRL_MAX_SLIP. */
const MAX_RATE = 1000;
const MAX_WINDOW = 3600;
const MAX_SLIP = 10;

const RATE_KEYS = ['responses-per-second', 'referrals-per-second', 'nodata-per-second', 'nxdomains-per-second', 'errors-per-second', 'all-per-second'] as const;
const TABLE_KEYS = new Set(['max-table-size', 'min-table-size']);
const KNOWN = new Set<string>([...RATE_KEYS, 'window', 'slip', 'ipv4-prefix-length', 'ipv6-prefix-length', 'exempt-clients', 'log-only', 'qps-scale', ...TABLE_KEYS]);

/** Defaults of an empty `rate-limit {}` (which limits nothing: responses-per-second 0). */
export function defaultRrlConfig(): RrlConfig {
  return {
    responsesPerSecond: 0,
    referralsPerSecond: 0,
    nodataPerSecond: 0,
    nxdomainsPerSecond: 0,
    errorsPerSecond: 0,
    allPerSecond: 0,
    window: 15,
    slip: 2,
    ipv4PrefixLength: 24,
    ipv6PrefixLength: 56,
    exemptClients: [],
    logOnly: false,
    notes: [],
  };
}

/** Reads a `rate-limit` statement; throws NamedConfError (file:line and the key) on bad input.
 * `acls`: named.conf's `acl` statements, which exempt-clients may name. */
export function rrlConfigFromStatement(rateLimit: Statement, acls: ReadonlyMap<string, Statement> = new Map()): RrlConfig {
  const cfg = defaultRrlConfig();
  const seen = new Map<string, Statement>();
  for (const s of rateLimit.block ?? []) {
    const fail = (problem: string) => new NamedConfError(s.at.file, s.at.line, `rate-limit ${s.name}: ${problem}`);
    if (!KNOWN.has(s.name)) throw new NamedConfError(s.at.file, s.at.line, `rate-limit: unknown statement '${s.name}'`);
    if (seen.has(s.name)) throw fail(`given twice (first at line ${seen.get(s.name)!.at.line})`);
    seen.set(s.name, s);
    if (s.name === 'qps-scale') throw fail('not supported by Santa: remove it, or let BIND answer everything (mode off)');
    if (s.name === 'exempt-clients') {
      if (s.args.length) throw fail('expects an address match list { ... }');
      cfg.exemptClients = addressMatchList(s, acls, fail);
      continue;
    }
    if (s.block) throw fail('takes a value, not a { } list');
    if (s.name === 'log-only') {
      cfg.logOnly = yesNo(s, fail);
      continue;
    }
    const n = integer(s, fail);
    if (TABLE_KEYS.has(s.name)) {
      cfg.notes.push(`${s.name} ${n} (${s.at.file}:${s.at.line}) sizes BIND's table only; Santa's bucket map has a fixed size and evicts the least recently used`);
      continue;
    }
    const inRange = (lo: number, hi: number) => {
      if (n < lo || n > hi) throw fail(`${n} is outside ${lo}..${hi}`);
      return n;
    };
    switch (s.name) {
      case 'window':
        cfg.window = inRange(1, MAX_WINDOW);
        break;
      case 'slip':
        cfg.slip = inRange(0, MAX_SLIP);
        break;
      case 'ipv4-prefix-length':
        cfg.ipv4PrefixLength = inRange(0, 32);
        break;
      case 'ipv6-prefix-length':
        cfg.ipv6PrefixLength = inRange(0, 128);
        break;
      default:
        inRange(0, MAX_RATE);
    }
  }
  const rate = (key: (typeof RATE_KEYS)[number], fallback: number) => {
    const s = seen.get(key);
    return s ? integer(s, () => new Error('unreachable')) : fallback;
  };
  // As BIND: the specific rates default to responses-per-second; all-per-second to off.
  cfg.responsesPerSecond = rate('responses-per-second', 0);
  cfg.referralsPerSecond = rate('referrals-per-second', cfg.responsesPerSecond);
  cfg.nodataPerSecond = rate('nodata-per-second', cfg.responsesPerSecond);
  cfg.nxdomainsPerSecond = rate('nxdomains-per-second', cfg.responsesPerSecond);
  cfg.errorsPerSecond = rate('errors-per-second', cfg.responsesPerSecond);
  cfg.allPerSecond = rate('all-per-second', 0);
  return cfg;
}

/** True when the configuration limits anything at all. */
export function rrlLimitsAnything(cfg: RrlConfig): boolean {
  return [cfg.responsesPerSecond, cfg.referralsPerSecond, cfg.nodataPerSecond, cfg.nxdomainsPerSecond, cfg.errorsPerSecond, cfg.allPerSecond].some((r) => r > 0);
}

function integer(s: Statement, fail: (p: string) => Error): number {
  if (s.args.length !== 1 || !/^\d+$/.test(s.args[0])) throw fail(`expects one integer, got '${s.args.join(' ')}'`);
  return Number(s.args[0]);
}

function yesNo(s: Statement, fail: (p: string) => Error): boolean {
  const v = (s.args[0] ?? '').toLowerCase();
  if (s.args.length === 1 && ['yes', 'true', '1'].includes(v)) return true;
  if (s.args.length === 1 && ['no', 'false', '0'].includes(v)) return false;
  throw fail(`expects yes or no, got '${s.args.join(' ')}'`);
}
