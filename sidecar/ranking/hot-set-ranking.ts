/**
 * Streaming heavy-hitter ranking of question keys: Space-Saving (Metwally, Agrawal,
 * El Abbadi 2005) with forward exponential decay (Cormode et al. 2009).
 *
 * - Memory is `capacity` entries whatever the number of distinct names.
 * - For every monitored key, count - error <= true decayed weight <= count, and error is at
 *   most total/capacity; every key whose true weight exceeds total/capacity is monitored.
 * - Decay: an observation at time t weighs 2^((t - landmark)/halfLife) in stored units, so
 *   older observations need not be touched; reading divides by the same factor at "now".
 *   Scaling every entry by one factor keeps Space-Saving's order and bounds, so the decayed
 *   ranking keeps them too. Stored values are renormalised before they could overflow.
 * - XDP hit deltas merge as weighted observations: a question the program answers never
 *   reaches BIND again, and without them it would decay out of the ranking while hottest.
 *
 * The minimum is kept in a binary heap (weights are not integers once decayed, so the
 * bucket list of the original paper does not apply); an update is O(log capacity).
 */
import { KeyIndex, hashKey } from './key-index';
import { QuestionKey, questionKeyId } from './question-key';

export interface RankingOptions {
  /** Entries monitored; the ranking is exact for keys above total/capacity. */
  capacity: number;
  /** Half-life of an observation's weight in milliseconds; Infinity disables decay. */
  halfLifeMs?: number;
  /** Time of the first observation, in the same clock as advanceTo (default 0). */
  startMs?: number;
}

export interface RankedQuestion {
  readonly key: QuestionKey;
  /** questionKeyId(key) */
  readonly id: string;
  /** Decayed weight, an over-estimate by at most `error`. */
  readonly count: number;
  /** Weight the key may have inherited from the entry it replaced. */
  readonly error: number;
}

interface Entry {
  key: QuestionKey;
  hash: number; // hashKey(key)
  error: number; // stored units (landmark scale)
  heapIndex: number; // position in heap and in counts
}

/** Renormalise when stored units exceed 2^RESCALE_EXPONENT times the current scale. */
const RESCALE_EXPONENT = 256;

export class HotSetRanking {
  readonly capacity: number;
  private readonly halfLifeMs: number;
  private readonly index: KeyIndex<Entry>;
  private readonly heap: Entry[] = [];
  /** counts[i] is heap[i]'s count in stored units. Kept beside the heap rather than in the
   * entries so that sifting compares neighbouring numbers instead of chasing pointers. */
  private readonly counts: Float64Array;
  private landmarkMs: number;
  private nowMs: number;
  /** Weight of one observation at nowMs, in stored units. */
  private unit = 1;
  private totalStored = 0;

  constructor(options: RankingOptions) {
    if (!Number.isInteger(options.capacity) || options.capacity < 1) {
      throw new RangeError(`ranking capacity must be a positive integer, got ${options.capacity}`);
    }
    const halfLife = options.halfLifeMs ?? Infinity;
    if (!(halfLife > 0)) throw new RangeError(`ranking half-life must be > 0 ms, got ${halfLife}`);
    this.capacity = options.capacity;
    this.index = new KeyIndex<Entry>(options.capacity);
    this.counts = new Float64Array(options.capacity);
    this.halfLifeMs = halfLife;
    this.landmarkMs = options.startMs ?? 0;
    this.nowMs = this.landmarkMs;
  }

  get size(): number {
    return this.heap.length;
  }

  /** Decayed weight of everything observed (the denominator of a share). */
  get total(): number {
    return this.totalStored / this.unit;
  }

  /** Moves the clock forward; later observations weigh more than earlier ones. Time never
   * goes back: an earlier time is ignored, so a clock step cannot corrupt the ranking. */
  advanceTo(nowMs: number): void {
    if (!(nowMs > this.nowMs) || this.halfLifeMs === Infinity) return;
    this.nowMs = nowMs;
    const exponent = (nowMs - this.landmarkMs) / this.halfLifeMs;
    if (exponent > RESCALE_EXPONENT) this.rescale(exponent);
    else this.unit = 2 ** exponent;
  }

  observe(key: QuestionKey, weight = 1): void {
    if (!(weight > 0)) return;
    const w = weight * this.unit;
    this.totalStored += w;
    const hash = hashKey(key);
    const hit = this.index.find(key, hash);
    if (hit !== undefined) {
      this.counts[hit.heapIndex] += w;
      this.siftDown(hit.heapIndex);
      return;
    }
    if (this.heap.length < this.capacity) {
      const entry: Entry = { key: ownKey(key), hash, error: 0, heapIndex: this.heap.length };
      this.heap.push(entry);
      this.counts[entry.heapIndex] = w;
      this.index.insert(entry);
      this.siftUp(entry.heapIndex);
      return;
    }
    // Space-Saving: the new key takes the place of the least counted one and inherits its
    // count as possible over-estimate.
    const min = this.heap[0];
    this.index.remove(min);
    min.key = ownKey(key);
    min.hash = hash;
    min.error = this.counts[0];
    this.counts[0] += w;
    this.index.insert(min);
    this.siftDown(0);
  }

  /** Adds the XDP program's hits for a cached key since the last read. */
  addHits(key: QuestionKey, hits: number): void {
    if (hits > 0) this.observe(key, hits);
  }

  estimate(key: QuestionKey): { count: number; error: number } | undefined {
    const e = this.index.find(key, hashKey(key));
    return e === undefined ? undefined : { count: this.counts[e.heapIndex] / this.unit, error: e.error / this.unit };
  }

  /** The n heaviest keys, heaviest first. O(capacity log capacity): call it per planning
   * round, not per query. */
  top(n: number = this.capacity): RankedQuestion[] {
    const counts = this.counts;
    const sorted = this.heap
      .map((e) => ({ e, count: counts[e.heapIndex] }))
      .sort((a, b) => b.count - a.count || compareKeys(a.e.key, b.e.key));
    const out: RankedQuestion[] = [];
    const limit = Math.min(n, sorted.length);
    for (let i = 0; i < limit; i++) {
      const { e, count } = sorted[i];
      out.push({ key: e.key, id: questionKeyId(e.key), count: count / this.unit, error: e.error / this.unit });
    }
    return out;
  }

  private rescale(exponent: number): void {
    const factor = 2 ** -exponent;
    for (let i = 0; i < this.heap.length; i++) {
      this.counts[i] *= factor;
      this.heap[i].error *= factor;
    }
    this.totalStored *= factor;
    this.landmarkMs = this.nowMs;
    this.unit = 1;
  }

  private siftUp(i: number): void {
    const heap = this.heap;
    const counts = this.counts;
    const e = heap[i];
    const c = counts[i];
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (counts[parent] <= c) break;
      const p = heap[parent];
      heap[i] = p;
      counts[i] = counts[parent];
      p.heapIndex = i;
      i = parent;
    }
    heap[i] = e;
    counts[i] = c;
    e.heapIndex = i;
  }

  private siftDown(i: number): void {
    const heap = this.heap;
    const counts = this.counts;
    const n = heap.length;
    const e = heap[i];
    const c = counts[i];
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && counts[right] < counts[left] ? right : left;
      if (counts[child] >= c) break;
      const moved = heap[child];
      heap[i] = moved;
      counts[i] = counts[child];
      moved.heapIndex = i;
      i = child;
    }
    heap[i] = e;
    counts[i] = c;
    e.heapIndex = i;
  }
}

/**
 * A copy of the key that shares nothing with the caller's strings. Names parsed from a log
 * are substrings of the chunk they were read in (V8 slices share their parent), so a
 * long-lived entry holding one would keep a megabyte of log alive. Taking a substring of a
 * concatenation makes V8 flatten the concatenation into a new string first, the cheapest
 * copy JavaScript offers; it runs only when a key enters the ranking.
 */
function ownKey(key: QuestionKey): QuestionKey {
  const name = (key.name + ' ').slice(0, key.name.length);
  return { name, qtype: key.qtype, qclass: key.qclass, flags: key.flags };
}

/** A total order for ties, so top() is deterministic. */
function compareKeys(a: QuestionKey, b: QuestionKey): number {
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  return a.qtype - b.qtype || a.qclass - b.qclass || a.flags - b.flags;
}
