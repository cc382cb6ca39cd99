import { KEY_RD } from './question-key';
import { RankedQuestion } from './hot-set-ranking';
import { abiEntryBytes, hitRateCurve, whatIf, wireNameLength } from './what-if';

const ranked = (counts: number[]): RankedQuestion[] =>
  counts.map((count, i) => ({ key: { name: `n${i}.test`, qtype: 1, qclass: 1, flags: KEY_RD }, id: `n${i}`, count, error: i === 2 ? 1 : 0 }));

describe('what-if table', () => {
  it('accumulates shares and bytes per size, and says when fewer questions were seen', () => {
    const rows = whatIf(ranked([50, 30, 10, 5]), 100, [1, 2, 10], () => 64);
    expect(rows).toEqual([
      { size: 1, entries: 1, share: 0.5, guaranteedShare: 0.5, bytes: 64 },
      { size: 2, entries: 2, share: 0.8, guaranteedShare: 0.8, bytes: 128 },
      { size: 10, entries: 4, share: 0.95, guaranteedShare: 0.94, bytes: 256 },
    ]);
  });

  it('draws a rising curve that ends at the full share', () => {
    const curve = hitRateCurve(ranked([50, 30, 10, 5]), 100, 10);
    expect(curve[0]).toEqual({ entries: 1, share: 0.5 });
    expect(curve[curve.length - 1]).toEqual({ entries: 4, share: 0.95 });
  });

  it('sizes entries by the key tier their wire name needs', () => {
    expect(wireNameLength('.')).toBe(1);
    expect(wireNameLength('www.example.test')).toBe(18);
    expect(wireNameLength('a\\032b\\.c.test')).toBe(12); // labels "a b.c" (5) and "test" (4)
    const tier = (n: number) => abiEntryBytes({ name: 'x'.repeat(n), qtype: 1, qclass: 1, flags: 0 });
    expect(tier(30)).toBe(8 + 32 + 1248 + 48); // 32 wire bytes: the first tier
    expect(tier(31)).toBe(8 + 64 + 1248 + 48);
    expect(tier(200)).toBe(8 + 256 + 1248 + 48);
  });
});
