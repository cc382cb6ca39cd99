/**
 * Choosing the offered rate at which an arm answers the most, from probes (pure: the probing is
 * main.ts's). An overloaded server answers erratically, and a ladder with a step of 1.5 leaves
 * wide gaps near the peak: in one run BIND alone drew 26.7k answers from its one probe at 52k
 * (other arms doing the same BIND work got 44-51k there), so its peak was taken at 34.7k, which
 * capped it below the 0% row and flattered every ratio to it. Hence two more steps: probe
 * between the best rung and its neighbours, then probe the best few again, for longer.
 */

export interface Probe {
  /** The rate asked of the generator. */
  offered: number;
  answered: number;
}

/**
 * The rates between the best-answered rung of a descending ladder and its neighbours (geometric
 * midpoints), excluding rates already probed: where the peak may lie that the ladder skipped.
 */
export function refineRates(ladder: Probe[]): number[] {
  if (ladder.length === 0) return [];
  const rates = ladder.map((p) => p.offered);
  const best = ladder.reduce((b, p, i) => (p.answered > ladder[b].answered ? i : b), 0);
  const neighbours = [rates[best - 1], rates[best + 1]].filter((r): r is number => r !== undefined);
  return neighbours
    .map((n) => Math.round(Math.sqrt(n * rates[best])))
    .filter((r) => !rates.includes(r));
}

/** The `count` best-answered distinct rates, best first: the ones probed again. */
export function peakCandidates(probes: Probe[], count: number): number[] {
  const best = new Map<number, number>();
  for (const p of probes) best.set(p.offered, Math.max(best.get(p.offered) ?? -Infinity, p.answered));
  return [...best.entries()]
    .sort((a, b) => b[1] - a[1] || b[0] - a[0])
    .slice(0, count)
    .map(([offered]) => offered);
}
