/**
 * The ports and destination addresses the program answers for: those named listens on. Pure.
 *
 * named binds to each of the host's addresses that its listen-on (listen-on-v6) lists match. A
 * list of plain addresses is taken as written, `any` (and no listen-on-v6, whose default is any)
 * leaves the program answering any destination, and any other list (prefixes, negations, ACLs,
 * `localhost`, `localnets`) is matched against the host's addresses, as named does when it scans
 * its interfaces: a query to an address named does not listen on, which the kernel would refuse,
 * must not be answered from the cache (another server may listen there).
 */
import { isIPv4, isIPv6 } from 'node:net';
import { addressBytes } from '../net/ip';
import { addressMatchList, listMatches, type AddressPrefix } from '../named-conf/address-match';
import { NamedConfError, type ListenOn, type NamedConf } from '../named-conf/read';

/** Group addresses, which the program never answers for (its address check refuses them
 * before it looks at the list): a list holding only one answers for no destination of that
 * family, where named listens on none. */
export const NO_DESTINATION = { v4: '255.255.255.255', v6: 'ff0f::' } as const;

export interface ListenSettings {
  ports: number[];
  /** Destination addresses to answer for; empty: any. */
  v4: string[];
  v6: string[];
  /** Why a family is answered for any destination although named's list is narrower. */
  warnings: string[];
}

/** Where named listens in one address family: by port, the addresses, or any. */
type Listening = Map<number, Set<string> | 'any'>;

/** `hostAddresses`: the addresses of the host's interfaces (named's network namespace). */
export function listenSettings(conf: NamedConf, hostAddresses: readonly string[], maxAddresses: number): ListenSettings {
  const warnings: string[] = [];
  const host = (family: 4 | 6) => hostAddresses.filter((a) => (family === 4 ? isIPv4(a) : isIPv6(a) && !a.includes('%')));
  // localhost and localnets, as far as listening goes, are the host's own addresses.
  const own: AddressPrefix[] = [...host(4), ...host(6)].map((a) => {
    const family = isIPv4(a) ? 4 : 6;
    return { family, address: addressBytes(family, a), length: family === 4 ? 32 : 128, negated: false };
  });
  const builtins = new Map([
    ['localhost', own],
    ['localnets', own],
  ]);
  const listening = (family: 4 | 6, statements: ListenOn[], name: string): Listening => {
    // named's default: listen-on (-v6) port 53 { any; }
    if (statements.length === 0) return new Map([[53, 'any']]);
    const byPort: Listening = new Map();
    for (const l of statements) {
      const port = l.port ?? 53;
      const seen = byPort.get(port);
      if (seen === 'any') continue;
      if (l.addresses.length === 1 && l.addresses[0] === 'any') {
        byPort.set(port, 'any');
        continue;
      }
      const out = seen ?? new Set<string>();
      byPort.set(port, out);
      if (l.addresses.every((a) => (family === 4 ? isIPv4(a) : isIPv6(a) && !a.includes('%')))) {
        for (const a of l.addresses) out.add(a);
        continue;
      }
      const s = l.statement;
      const list = addressMatchList(s, conf.acls, (problem) => new NamedConfError(s.at.file, s.at.line, `${name}: ${problem}`), builtins);
      for (const a of host(family)) if (listMatches(list, addressBytes(family, a))) out.add(a);
    }
    return byPort;
  };
  const chosen = servedRectangle(listening(4, conf.options.listenOn, 'listen-on'), listening(6, conf.options.listenOnV6, 'listen-on-v6'), warnings);
  const addresses = (family: 4 | 6, served: Set<string> | 'any'): string[] => {
    if (served === 'any') return [];
    if (served.size > maxAddresses) {
      warnings.push(`named listens on ${served.size} IPv${family} addresses, more than the program can list (${maxAddresses}): it answers queries to any IPv${family} destination`);
      return [];
    }
    return served.size ? [...served] : [family === 4 ? NO_DESTINATION.v4 : NO_DESTINATION.v6];
  };
  return { ports: chosen.ports, v4: addresses(4, chosen.v4), v6: addresses(6, chosen.v6), warnings };
}

/**
 * The program answers one set of ports at one set of addresses per family: every address at
 * every port. named listens at the pairs its statements make, which need not be all of those (a
 * port of one statement with the address of another). This picks ports and addresses whose every
 * combination named listens on, answering for as many as it can (53 first on a tie); what named
 * listens on beyond them is left to BIND, with a warning.
 */
function servedRectangle(v4: Listening, v6: Listening, warnings: string[]): { ports: number[]; v4: Set<string> | 'any'; v6: Set<string> | 'any' } {
  const none = new Set<string>();
  const within = (a: Set<string> | 'any', b: Set<string> | 'any') => b === 'any' || (a !== 'any' && [...a].every((x) => b.has(x)));
  const size = (a: Set<string> | 'any') => (a === 'any' ? 1e6 : a.size);
  const ports = [...new Set([...v4.keys(), ...v6.keys()])].sort((a, b) => (a === 53 ? -1 : b === 53 ? 1 : a - b));
  let best = { ports: [53], v4: none as Set<string> | 'any', v6: none as Set<string> | 'any', score: -1 };
  for (const start of ports) {
    const a4 = v4.get(start) ?? none;
    const a6 = v6.get(start) ?? none;
    const chosen = [start];
    for (const p of ports) if (p !== start && within(a4, v4.get(p) ?? none) && within(a6, v6.get(p) ?? none)) chosen.push(p);
    const score = (size(a4) + size(a6)) * chosen.length;
    if (score > best.score) best = { ports: chosen, v4: a4, v6: a6, score };
  }
  const left = (family: 4 | 6, byPort: Listening, served: Set<string> | 'any') =>
    [...byPort].filter(([port, a]) => size(a) > 0 && (!best.ports.includes(port) || !within(a, served))).map(([port]) => `IPv${family} port ${port}`);
  const beyond = [...left(4, v4, best.v4), ...left(6, v6, best.v6)];
  if (beyond.length) {
    warnings.push(`named listens at address and port pairs the program cannot answer for alone (its ports apply to all its addresses): queries to ${beyond.join(', ')} beyond those it answers are left to BIND`);
  }
  return { ports: best.ports, v4: best.v4, v6: best.v6 };
}

/**
 * The settings to write once the host's addresses have changed (`scanned`: listenSettings on the
 * new addresses). An address named no longer listens on goes at once: the kernel refuses what
 * is sent to an address the host has lost. One it newly lists is added only once `ready` says
 * named answers there, as named binds to it only when it next scans its interfaces (at once with
 * automatic-interface-scan, BIND's default on Linux; else every interface-interval, or rndc scan).
 * A change to or from any destination is taken as it is, as at start.
 */
export function followListen(current: ListenSettings, scanned: ListenSettings, ready: (address: string) => boolean): ListenSettings {
  const family = (now: string[], next: string[], none: string): string[] => {
    if (now.length === 0 || next.length === 0) return next;
    const kept = now.filter((a) => a !== none && next.includes(a));
    const out = [...kept, ...added(now, next, none).filter(ready)];
    return out.length ? out : [none];
  };
  return {
    ports: scanned.ports,
    v4: family(current.v4, scanned.v4, NO_DESTINATION.v4),
    v6: family(current.v6, scanned.v6, NO_DESTINATION.v6),
    warnings: scanned.warnings,
  };
}

/** The addresses `scanned` lists that `current` does not (each to be checked with named). */
export function newlyListed(current: ListenSettings, scanned: ListenSettings): string[] {
  return [...added(current.v4, scanned.v4, NO_DESTINATION.v4), ...added(current.v6, scanned.v6, NO_DESTINATION.v6)];
}

/** A family's addresses in `next` and not in `now` (none when `now` is any destination). */
function added(now: string[], next: string[], none: string): string[] {
  return now.length === 0 ? [] : next.filter((a) => a !== none && !now.includes(a));
}

/** Whether both answer for the same ports and addresses, in whatever order. */
export function sameListen(a: ListenSettings, b: ListenSettings): boolean {
  const same = (x: readonly (string | number)[], y: readonly (string | number)[]) => {
    const xs = new Set(x);
    return xs.size === new Set(y).size && y.every((v) => xs.has(v));
  };
  return same(a.ports, b.ports) && same(a.v4, b.v4) && same(a.v6, b.v6);
}
