/** The ranking's guarantees, checked against exact counts. */
import { rankingFeed } from '../../sidecar/ranking/feed';
import { HotSetRanking } from '../../sidecar/ranking/hot-set-ranking';
import { KEY_EDNS, KEY_RD, QuestionKey, questionKeyId } from '../../sidecar/ranking/question-key';
import { seededRandom, zipfSampler } from './zipf';

function key(i: number, flags = KEY_RD | KEY_EDNS): QuestionKey {
  return { name: `host${i}.example.test`, qtype: 1, qclass: 1, flags };
}

describe('HotSetRanking on a Zipf stream (no decay)', () => {
  const distinct = 200_000;
  const events = 1_000_000;
  const capacity = 2_000;
  const draw = zipfSampler(distinct, 1.05, seededRandom(42));
  const exact = new Map<string, number>();
  const ranking = new HotSetRanking({ capacity });
  for (let i = 0; i < events; i++) {
    const k = key(draw());
    ranking.observe(k);
    const id = questionKeyId(k);
    exact.set(id, (exact.get(id) ?? 0) + 1);
  }
  const bound = events / capacity;
  const monitored = ranking.top();

  it('holds at most `capacity` entries although the stream has far more distinct keys', () => {
    expect(exact.size).toBeGreaterThan(10 * capacity);
    expect(ranking.size).toBe(capacity);
    expect(ranking.total).toBe(events);
  });

  it('over-estimates every monitored key by at most its error, and error <= N/capacity', () => {
    for (const r of monitored) {
      const truth = exact.get(r.id) ?? 0;
      expect(r.count).toBeGreaterThanOrEqual(truth);
      expect(r.count - r.error).toBeLessThanOrEqual(truth);
      expect(r.error).toBeLessThanOrEqual(bound);
    }
  });

  it('monitors every key heavier than N/capacity', () => {
    const ids = new Set(monitored.map((r) => r.id));
    const heavy = [...exact].filter(([, n]) => n > bound);
    expect(heavy.length).toBeGreaterThan(50);
    for (const [id] of heavy) expect(ids.has(id)).toBe(true);
  });

  it('ranks the true top 50 exactly in order', () => {
    const trueTop = [...exact].sort((a, b) => b[1] - a[1]).slice(0, 50).map(([id]) => id);
    expect(monitored.slice(0, 50).map((r) => r.id)).toEqual(trueTop);
  });
});

describe('HotSetRanking with decay', () => {
  it('halves an observation per half-life', () => {
    const r = new HotSetRanking({ capacity: 10, halfLifeMs: 1000 });
    r.observe(key(1), 8);
    r.advanceTo(2000);
    expect(r.estimate(key(1))!.count).toBeCloseTo(2, 10);
    r.observe(key(1), 1);
    expect(r.estimate(key(1))!.count).toBeCloseTo(3, 10);
    expect(r.total).toBeCloseTo(3, 10);
  });

  it('follows a shift in traffic', () => {
    const r = new HotSetRanking({ capacity: 100, halfLifeMs: 1000 });
    for (let t = 0; t < 20_000; t += 10) {
      r.advanceTo(t);
      r.observe(key(t < 10_000 ? 1 : 2));
      r.observe(key(3 + (t % 50)));
    }
    expect(r.top(1)[0].key).toEqual(key(2));
    expect(r.estimate(key(1))!.count).toBeLessThan(0.01 * r.estimate(key(2))!.count);
  });

  it('stays finite and ordered across many half-lives (renormalisation)', () => {
    const r = new HotSetRanking({ capacity: 4, halfLifeMs: 10 }); // 500 half-lives: renormalises
    for (let t = 0; t <= 5000; t++) {
      r.advanceTo(t);
      r.observe(key(t % 2 === 0 ? 7 : t % 5));
    }
    for (const q of r.top()) {
      expect(Number.isFinite(q.count)).toBe(true);
      expect(q.count).toBeGreaterThan(0);
    }
    expect(Number.isFinite(r.total)).toBe(true);
    expect(r.top(1)[0].key).toEqual(key(7));
  });

  it('ignores a clock that goes backwards', () => {
    const r = new HotSetRanking({ capacity: 4, halfLifeMs: 1000 });
    r.advanceTo(1000);
    r.observe(key(1));
    r.advanceTo(0);
    r.observe(key(1));
    expect(r.estimate(key(1))!.count).toBeCloseTo(2, 10);
  });
});

describe('HotSetRanking with XDP hit counts', () => {
  it('keeps a cached key that BIND no longer sees at the top', () => {
    const r = new HotSetRanking({ capacity: 50, halfLifeMs: 1000 });
    const cached = key(0);
    for (let t = 0; t < 30_000; t += 100) {
      r.advanceTo(t);
      for (let i = 1; i <= 200; i++) r.observe(key(i)); // long tail still reaching BIND
      r.addHits(cached, 5_000); // answered in XDP: only the hit counter sees it
    }
    expect(r.top(1)[0].key).toEqual(cached);
  });

  it('treats keys that differ only in query bits as distinct questions', () => {
    const r = new HotSetRanking({ capacity: 10 });
    r.observe(key(1, KEY_RD));
    r.observe(key(1, KEY_RD | KEY_EDNS));
    r.observe(key(1, KEY_RD | KEY_EDNS));
    expect(r.top().map((q) => [q.key.flags, q.count])).toEqual([[KEY_RD | KEY_EDNS, 2], [KEY_RD, 1]]);
  });

  it('rejects a nonsensical configuration', () => {
    expect(() => new HotSetRanking({ capacity: 0 })).toThrow(/capacity/);
    expect(() => new HotSetRanking({ capacity: 1, halfLifeMs: 0 })).toThrow(/half-life/);
  });
});

describe('rankingFeed', () => {
  it('ranks UDP queries with EDNS 0 or none, at the clock it is given', () => {
    const ranking = new HotSetRanking({ capacity: 10, halfLifeMs: 1000 });
    let now = 0;
    const { sink, counters } = rankingFeed(ranking, () => now);
    const base = { qtype: 1, qclass: 1, flags: KEY_RD, cd: false, signed: false, client: '', clientPort: 0, destination: '', view: undefined, ecs: undefined };
    sink({ ...base, name: 'a', tcp: false, ednsVersion: 0 });
    sink({ ...base, name: 'b', tcp: true, ednsVersion: 0 });
    sink({ ...base, name: 'c', tcp: false, ednsVersion: 1 });
    now = 1000;
    sink({ ...base, name: 'd', tcp: false, ednsVersion: -1 });
    expect(counters).toEqual({ queries: 4, ranked: 2 });
    expect(ranking.top().map((q) => [q.key.name, q.count])).toEqual([['d', 1], ['a', 0.5]]);
  });
});
