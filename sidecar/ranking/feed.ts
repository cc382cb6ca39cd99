/**
 * Connects a query source (QueryLogFollower, DnstapSocketReceiver, a file reader) to a
 * ranking: filters out queries the XDP program cannot answer and keeps the ranking's clock.
 */
import { HotSetRanking } from './hot-set-ranking';
import { QueryEvent } from './question-key';

/** The XDP program answers UDP only, and passes EDNS versions other than 0 to BIND (which
 * answers BADVERS), so such queries say nothing about what to cache. */
export function isCacheable(e: QueryEvent): boolean {
  return !e.tcp && e.ednsVersion <= 0;
}

export interface FeedCounters {
  queries: number;
  ranked: number;
}

/** An event sink that ranks cacheable queries at the time `clock` gives (milliseconds). */
export function rankingFeed(
  ranking: HotSetRanking,
  clock: () => number = Date.now,
): { sink: (e: QueryEvent) => void; counters: FeedCounters } {
  const counters: FeedCounters = { queries: 0, ranked: 0 };
  return {
    counters,
    sink: (e) => {
      counters.queries++;
      if (!isCacheable(e)) return;
      counters.ranked++;
      ranking.advanceTo(clock());
      ranking.observe(e);
    },
  };
}
