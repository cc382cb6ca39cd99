/**
 * The throughput benchmark's choice of probe rates (peak.ts), on the ladder of the run where it
 * went wrong: BIND alone, query log on, whose one probe at 52k drew 26.7k answers.
 */
import { peakCandidates, Probe, refineRates } from './peak';

const ladder: Probe[] = [
  { offered: 117_060, answered: 18_593 },
  { offered: 78_050, answered: 28_323 },
  { offered: 52_040, answered: 26_668 },
  { offered: 34_690, answered: 29_014 },
  { offered: 23_130, answered: 23_098 },
];

describe('refineRates', () => {
  test('probes between the best rung and both neighbours, which covers the skipped peak', () => {
    const rates = refineRates(ladder);
    expect(rates).toEqual([Math.round(Math.sqrt(52_040 * 34_690)), Math.round(Math.sqrt(34_690 * 23_130))]);
    expect(rates[0]).toBeGreaterThan(34_690);
    expect(rates[0]).toBeLessThan(52_040);
  });

  test('at either end of the ladder there is one neighbour', () => {
    expect(refineRates([{ offered: 2_000_000, answered: 9 }, { offered: 1_000_000, answered: 5 }])).toEqual([1_414_214]);
    expect(refineRates([{ offered: 40, answered: 1 }, { offered: 10, answered: 9 }])).toEqual([20]);
  });

  test('a one-rung ladder or an empty one gives nothing to refine', () => {
    expect(refineRates([{ offered: 50, answered: 50 }])).toEqual([]);
    expect(refineRates([])).toEqual([]);
  });
});

describe('peakCandidates', () => {
  test('the best-answered distinct rates, best first', () => {
    const refined = [{ offered: 42_488, answered: 33_000 }, { offered: 28_327, answered: 27_000 }];
    expect(peakCandidates([...ladder, ...refined], 3)).toEqual([42_488, 34_690, 78_050]);
  });

  test('a rate probed twice counts by its better probe, once', () => {
    const probes = [{ offered: 10, answered: 5 }, { offered: 10, answered: 9 }, { offered: 20, answered: 8 }];
    expect(peakCandidates(probes, 3)).toEqual([10, 20]);
  });
});
