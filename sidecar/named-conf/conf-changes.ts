/**
 * Which cached answers an edit of named.conf can change, once named reads it. Pure.
 *
 * Hosting servers add and remove zones in named.conf all day: withdrawing every answer at each
 * edit would hand BIND the whole load each time. A zone statement added, removed or changed
 * changes only the answers of that zone and of the zones above and below it (names under a new
 * apex are its own; a DS answer is the parent's); anything else (options, views, ACLs, keys,
 * logging, the order of views) may change any answer.
 */
import type { NamedConf, ZoneConfig } from './read';

export type ConfChange = { everything: true; why: string } | { everything: false; zones: string[] };

export function answersChanged(before: NamedConf, after: NamedConf): ConfChange {
  if (before.layout !== after.layout) return { everything: true, why: 'statements other than zone statements changed' };
  const key = (z: ZoneConfig) => `${z.view ?? ''} ${z.class} ${z.name}`;
  const was = new Map(before.zones.map((z) => [key(z), z]));
  const is = new Map(after.zones.map((z) => [key(z), z]));
  const changed = new Set<string>();
  for (const [k, z] of was) if (is.get(k)?.statementText !== z.statementText) changed.add(z.name);
  for (const [k, z] of is) if (!was.has(k)) changed.add(z.name);
  // Zones nest: an added zone takes names from the zone above it, and the DS answer at the apex
  // of a zone below comes from the zone above that apex, when BIND serves it.
  const zones = new Set(changed);
  for (const z of [...before.zones, ...after.zones]) {
    for (const c of changed) if (isAbove(z.name, c) || isAbove(c, z.name)) zones.add(z.name);
  }
  return { everything: false, zones: [...zones].sort() };
}

/** Whether zone `upper` holds names of zone `lower` (a proper ancestor; "." holds all). */
function isAbove(upper: string, lower: string): boolean {
  return upper !== lower && (upper === '.' || lower.endsWith(`.${upper}`));
}
