/**
 * BIND address match lists (`blackhole`, `exempt-clients`, ...) flattened into the form the XDP
 * program matches: literal prefixes in list order, the first one holding an address decides,
 * "yes" or, when negated, "no". Pure: takes parsed statements and the named.conf's `acl`s.
 *
 * Flattening keeps BIND's meaning (lib/dns/acl.c): a nested list or named ACL matches only when
 * it matches positively, a negative match inside it counts as no match, and the outer list goes
 * on. So `!acl` becomes the ACL's prefixes each negated (allowed only when the ACL has no
 * negations), and a nested list that has negations may only be the last element (where "no"
 * and "no match" mean the same). Elements that depend on more than the source address (keys,
 * `localhost`, `localnets`, GeoIP) are refused by name, never guessed.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { addressBytes, formatIpv6, prefixMask } from '../net/ip';
import type { Statement } from './syntax';

export interface AddressPrefix {
  family: 4 | 6;
  /** Masked to `length` bits: 4 or 16 bytes. */
  address: Buffer;
  length: number;
  negated: boolean;
}

/** A problem in the list, as the caller words it (it knows the statement and its location). */
export type ListError = (problem: string) => Error;

/** `acl name { ... };` statements by name. */
export function aclsOf(statements: readonly Statement[]): Map<string, Statement> {
  const acls = new Map<string, Statement>();
  for (const s of statements) if (s.name === 'acl' && s.args[0] !== undefined) acls.set(s.args[0], s);
  return acls;
}

/** The list's elements flattened; `list` is the statement holding the `{ ... }` block (any
 * arguments before it, such as listen-on's `port 53`, are the caller's). `builtins`: what
 * `localhost` and `localnets` stand for where the caller knows (refused otherwise). */
export function addressMatchList(
  list: Statement,
  acls: ReadonlyMap<string, Statement>,
  fail: ListError,
  builtins: ReadonlyMap<string, readonly AddressPrefix[]> = new Map(),
): AddressPrefix[] {
  if (!list.block) throw fail('expects an address match list { ... }');
  return flatten(list.block, acls, fail, [], builtins);
}

/** Whether an address (4 or 16 bytes) is matched ("yes") by a flattened list: the reference the
 * program's address_matches() follows. */
export function listMatches(list: readonly AddressPrefix[], address: Buffer): boolean {
  const family = address.length === 4 ? 4 : 6;
  for (const p of list) {
    if (p.family !== family) continue;
    const mask = prefixMask(address.length, p.length);
    if (address.every((b, i) => (b & mask[i]) === p.address[i])) return !p.negated;
  }
  return false;
}

function flatten(
  elements: readonly Statement[],
  acls: ReadonlyMap<string, Statement>,
  fail: ListError,
  resolving: string[],
  builtins: ReadonlyMap<string, readonly AddressPrefix[]>,
): AddressPrefix[] {
  const out: AddressPrefix[] = [];
  elements.forEach((e, i) => {
    const last = i === elements.length - 1;
    let text = e.name;
    let negated = false;
    let nested: readonly Statement[] | undefined = e.block;
    if (text === '!') {
      negated = true;
      text = e.args[0] ?? '';
    } else if (text.startsWith('!')) {
      negated = true;
      text = text.slice(1);
    } else if (e.args.length) {
      throw fail(`'${[e.name, ...e.args].join(' ')}' ${refusal(e.name)}`);
    }
    let inner: AddressPrefix[] | undefined;
    if (nested) {
      inner = flatten(nested, acls, fail, resolving, builtins);
    } else if (text === 'any') {
      out.push(prefix(4, '0.0.0.0', 0, negated), prefix(6, '::', 0, negated));
      return;
    } else if (text === 'none') {
      return; // matches nothing, negated or not
    } else if (acls.has(text)) {
      if (resolving.includes(text)) throw fail(`ACL '${text}' refers to itself (${[...resolving, text].join(' -> ')})`);
      inner = flatten(acls.get(text)!.block ?? [], acls, fail, [...resolving, text], builtins);
    } else if (builtins.has(text)) {
      inner = [...builtins.get(text)!];
    } else {
      out.push(literal(text, negated, fail));
      return;
    }
    const what = nested ? 'a nested list' : `ACL '${text}'`;
    const hasNegations = inner.some((p) => p.negated);
    if (negated && hasNegations) throw fail(`'!' before ${what} that has negated elements: BIND's meaning cannot be kept in the form Santa matches`);
    if (!negated && hasNegations && !last) {
      throw fail(`${what} has negated elements and is not the last element: BIND's meaning cannot be kept in the form Santa matches`);
    }
    out.push(...inner.map((p) => ({ ...p, negated: negated || p.negated })));
  });
  return out;
}

function refusal(name: string): string {
  if (name === 'key') return 'depends on a TSIG key, not the address: not supported by Santa';
  if (name === 'geoip') return 'depends on GeoIP data: not supported by Santa';
  return 'is not an address or prefix';
}

function literal(text: string, negated: boolean, fail: ListError): AddressPrefix {
  if (text === 'localhost' || text === 'localnets') {
    throw fail(`'${text}' depends on the server's interfaces: not supported by Santa (list the addresses or prefixes instead)`);
  }
  const [addr, len, extra] = text.split('/');
  const family = extra === undefined && isIPv4(addr) ? 4 : extra === undefined && isIPv6(addr) && !addr.includes('%') ? 6 : undefined;
  if (!family) throw fail(`'${text}' is not an address, a prefix or a known ACL`);
  const bits = family === 4 ? 32 : 128;
  const length = len === undefined ? bits : /^\d+$/.test(len) ? Number(len) : NaN;
  if (!(length >= 0 && length <= bits)) throw fail(`'${text}': prefix length must be 0..${bits}`);
  return prefix(family, addr, length, negated);
}

function prefix(family: 4 | 6, addr: string, length: number, negated: boolean): AddressPrefix {
  const address = addressBytes(family, addr);
  const mask = prefixMask(address.length, length);
  for (let i = 0; i < address.length; i++) address[i] &= mask[i];
  return { family, address, length, negated };
}

/** `!`, address and prefix length, as named.conf writes them. */
export function formatPrefix(p: AddressPrefix): string {
  return `${p.negated ? '!' : ''}${p.family === 4 ? [...p.address].join('.') : formatIpv6(p.address)}/${p.length}`;
}
