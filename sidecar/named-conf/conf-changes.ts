/**
 * Which cached answers an edit of named.conf can change, once named reads it. Pure.
 *
 * Hosting servers add and remove zones in named.conf all day: withdrawing every answer at each
 * edit would hand BIND the whole load each time. A zone statement added, removed or changed
 * changes only the answers of that zone and, for an added zone, of the zones above it (names
 * under the new apex are now its own); anything else (options, views, ACLs, keys, logging, the
 * order of views) may change any answer.
 */
import type { NamedConf, ZoneConfig } from './read';

export type ConfChange = { everything: true; why: string } | { everything: false; zones: string[] };

export function answersChanged(before: NamedConf, after: NamedConf): ConfChange {
  if (before.layout !== after.layout) return { everything: true, why: 'statements other than zone statements changed' };
  const key = (z: ZoneConfig) => `${z.view ?? ''} ${z.class} ${z.name}`;
  const was = new Map(before.zones.map((z) => [key(z), z]));
  const is = new Map(after.zones.map((z) => [key(z), z]));
  const zones = new Set<string>();
  for (const [k, z] of was) if (is.get(k)?.statementText !== z.statementText) zones.add(z.name);
  for (const [k, z] of is) {
    if (was.has(k)) continue;
    zones.add(z.name);
    for (const above of before.zones) if (isAbove(above.name, z.name)) zones.add(above.name);
  }
  return { everything: false, zones: [...zones].sort() };
}

/** Whether zone `upper` holds names of zone `lower` (a proper ancestor; "." holds all). */
function isAbove(upper: string, lower: string): boolean {
  return upper !== lower && (upper === '.' || lower.endsWith(`.${upper}`));
}
