/**
 * "If the cache held the N hottest questions, what share of all queries would it answer, and
 * how much memory would those entries take?" from a ranking's output.
 */
import { QuestionKey } from './question-key';
import { RankedQuestion } from './hot-set-ranking';

export interface WhatIfRow {
  /** Cache size asked about. */
  readonly size: number;
  /** Entries actually available (fewer when fewer distinct questions were seen). */
  readonly entries: number;
  /** Share of all queries the entries would have answered, from the ranking's estimates. */
  readonly share: number;
  /** Share counting only what Space-Saving guarantees (count - error): a lower bound. */
  readonly guaranteedShare: number;
  readonly bytes: number;
}

export const DEFAULT_WHAT_IF_SIZES: readonly number[] = [10, 100, 1_000, 10_000, 100_000];

/** `ranked` heaviest first (HotSetRanking.top()); `total` = every query, cacheable or not. */
export function whatIf(
  ranked: readonly RankedQuestion[],
  total: number,
  sizes: readonly number[] = DEFAULT_WHAT_IF_SIZES,
  bytesPerEntry: (key: QuestionKey) => number = abiEntryBytes,
): WhatIfRow[] {
  const rows: WhatIfRow[] = [];
  let i = 0;
  let sum = 0;
  let guaranteed = 0;
  let bytes = 0;
  for (const size of [...sizes].sort((a, b) => a - b)) {
    for (; i < Math.min(size, ranked.length); i++) {
      sum += ranked[i].count;
      guaranteed += ranked[i].count - ranked[i].error;
      bytes += bytesPerEntry(ranked[i].key);
    }
    rows.push({
      size,
      entries: i,
      share: total > 0 ? Math.min(1, sum / total) : 0,
      guaranteedShare: total > 0 ? guaranteed / total : 0,
      bytes,
    });
  }
  return rows;
}

/** Share answered by the first k entries, for k = 1..ranked.length, at roughly `points`
 * log-spaced k (always including the first and last): the hit-rate curve. */
export function hitRateCurve(ranked: readonly RankedQuestion[], total: number, points = 200): Array<{ entries: number; share: number }> {
  const out: Array<{ entries: number; share: number }> = [];
  if (ranked.length === 0 || total <= 0) return out;
  const wanted = new Set<number>([1, ranked.length]);
  const logMax = Math.log(ranked.length);
  for (let p = 1; p < points; p++) wanted.add(Math.max(1, Math.round(Math.exp((logMax * p) / points))));
  let sum = 0;
  for (let k = 1; k <= ranked.length; k++) {
    sum += ranked[k - 1].count;
    if (wanted.has(k)) out.push({ entries: k, share: Math.min(1, sum / total) });
  }
  return out;
}

// Sizes from xdp/include/santa_abi.h: key tiers (8-byte header + name buffer) and the value.
const KEY_HEADER_BYTES = 8;
const NAME_TIERS = [32, 64, 128, 256];
const VALUE_BYTES = 32 + 1216;
/** Kernel hash map bookkeeping per element (struct htab_elem on 64-bit: list node, hash, and
 * the key/value rounded to 8 bytes), approximately. */
const HTAB_ELEM_OVERHEAD = 48;

/** Default estimate of one cache entry's kernel memory: the key in its tier plus the value,
 * as the map layout fixes them. A caller that knows response sizes can pass its own. */
export function abiEntryBytes(key: QuestionKey): number {
  const wire = wireNameLength(key.name);
  const tier = NAME_TIERS.find((t) => wire <= t) ?? NAME_TIERS[NAME_TIERS.length - 1];
  return KEY_HEADER_BYTES + tier + VALUE_BYTES + HTAB_ELEM_OVERHEAD;
}

/** Wire length of a presentation-format name (escapes count as one byte), root label included. */
export function wireNameLength(name: string): number {
  if (name === '.') return 1;
  let bytes = 2; // first length byte + root label
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c === 92 /* \ */) {
      const d = name.charCodeAt(i + 1);
      i += d >= 48 && d <= 57 ? 3 : 1;
      bytes++;
    } else bytes++; // a label byte, or a dot standing for the next length byte
  }
  return name.endsWith('.') ? bytes - 1 : bytes;
}
