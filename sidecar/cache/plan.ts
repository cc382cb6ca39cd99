/**
 * Cache planning: which prebuilt answers belong in the kernel map, and what must change to get
 * there. Pure functions over data; the controller applies the result through the map layer.
 */

export interface Capacity {
  /** Most entries the maps may hold. */
  entries: number;
  /** Most reply bytes (the stored sections) all entries together may hold. */
  bytes: number;
}

/** An answer ready to install: `digest` changes whenever the reply bytes would. */
export interface PlannedEntry {
  id: string;
  bytes: number;
  digest: string;
}

/**
 * Takes entries in rank order until either limit is reached. An entry too large for the remaining
 * byte budget is skipped rather than ending the walk, so a big RRset does not starve the many small
 * answers ranked below it.
 */
export function selectWithinCapacity<T extends PlannedEntry>(ranked: readonly T[], capacity: Capacity): T[] {
  const chosen: T[] = [];
  const seen = new Set<string>();
  let bytes = 0;
  for (const entry of ranked) {
    if (chosen.length >= capacity.entries) break;
    if (seen.has(entry.id) || bytes + entry.bytes > capacity.bytes) continue;
    seen.add(entry.id);
    chosen.push(entry);
    bytes += entry.bytes;
  }
  return chosen;
}

export interface CacheDiff<T extends PlannedEntry> {
  /** Not installed yet. */
  add: T[];
  /** Installed with other reply bytes. */
  change: T[];
  /** Installed and identical: only the lease needs renewing. */
  keep: T[];
  /** Installed but no longer wanted. */
  remove: string[];
}

export function diffEntries<T extends PlannedEntry>(installed: ReadonlyMap<string, { digest: string }>, desired: readonly T[]): CacheDiff<T> {
  const diff: CacheDiff<T> = { add: [], change: [], keep: [], remove: [] };
  const wanted = new Set<string>();
  for (const entry of desired) {
    wanted.add(entry.id);
    const current = installed.get(entry.id);
    if (!current) diff.add.push(entry);
    else if (current.digest !== entry.digest) diff.change.push(entry);
    else diff.keep.push(entry);
  }
  for (const id of installed.keys()) if (!wanted.has(id)) diff.remove.push(id);
  return diff;
}
