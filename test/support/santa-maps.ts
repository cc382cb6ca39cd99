/**
 * Read-only looks at a running Santa's pinned maps, for end-to-end tests that watch what the
 * sidecar installed and what the program counted. Each call opens and closes the pins.
 */
import { SantaMaps } from '../../sidecar/bpf/maps';

function withMaps<T>(pinDir: string, read: (maps: SantaMaps) => T): T {
  const maps = SantaMaps.openPinned(pinDir);
  try {
    return read(maps);
  } finally {
    maps.close();
  }
}

/** The program's counters, summed over CPUs, by name (HITS, PASS_MISS, ...). */
export function pinnedStats(pinDir: string): Record<string, number> {
  return withMaps(pinDir, (maps) => maps.readStats());
}

/** The lower-cased wire names of the installed entries, as latin1 text (for substring checks). */
export function pinnedEntryNames(pinDir: string): string[] {
  return withMaps(pinDir, (maps) => maps.entries().map((e) => e.key.name.toString('latin1')));
}
