/**
 * santa_xdp's stages as the benchmarks split it (SANTA_BENCH_CUT in xdp/santa.bpf.c): xdp-stages
 * times the builds cut after each stage, xdp-path counts what they execute.
 */
export const STAGES = [
  'Ethernet, VLAN, IP, UDP',
  'DNS header, question, OPT, miss filter',
  'key: lower-case, hash',
  'index lookup, key compare, lease',
  'cookie, size limit, rate limiting (off)',
  'resize the frame (one helper call)',
  'L2, IP, UDP and DNS headers',
  'answer bytes, counters (whole program)',
];

/** Stages a miss reaches: it passes after the lookup. */
export const MISS_STAGES = 4;

/** The cut builds (make targets under xdp/), one per stage but the last, which is the whole program. */
export const CUT_BUILDS = STAGES.slice(0, -1).map((_, i) => `build/santa-cut${i + 1}.bpf.o`);
