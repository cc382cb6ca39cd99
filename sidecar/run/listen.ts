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

/** `hostAddresses`: the addresses of the host's interfaces (named's network namespace). */
export function listenSettings(conf: NamedConf, hostAddresses: readonly string[], maxAddresses: number): ListenSettings {
  const ports = new Set<number>();
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
  const served = (family: 4 | 6, statements: ListenOn[], name: string): string[] => {
    if (statements.length === 0) {
      ports.add(53); // named's default: listen-on (-v6) port 53 { any; }
      return [];
    }
    const out = new Set<string>();
    for (const l of statements) {
      ports.add(l.port ?? 53);
      if (l.addresses.length === 1 && l.addresses[0] === 'any') return [];
      if (l.addresses.every((a) => (family === 4 ? isIPv4(a) : isIPv6(a) && !a.includes('%')))) {
        for (const a of l.addresses) out.add(a);
        continue;
      }
      const s = l.statement;
      const list = addressMatchList(s, conf.acls, (problem) => new NamedConfError(s.at.file, s.at.line, `${name}: ${problem}`), builtins);
      for (const a of host(family)) if (listMatches(list, addressBytes(family, a))) out.add(a);
    }
    if (out.size > maxAddresses) {
      warnings.push(`named listens on ${out.size} IPv${family} addresses, more than the program can list (${maxAddresses}): it answers queries to any IPv${family} destination`);
      return [];
    }
    return out.size ? [...out] : [family === 4 ? NO_DESTINATION.v4 : NO_DESTINATION.v6];
  };
  const v4 = served(4, conf.options.listenOn, 'listen-on');
  const v6 = served(6, conf.options.listenOnV6, 'listen-on-v6');
  return { ports: ports.size ? [...ports] : [53], v4, v6, warnings };
}
