/**
 * Parser fuzzing (issue 8, part 2): zone files, named.conf, query-log files, Frame Streams,
 * DNS wire questions, dnstap payloads and AXFR streams, random and mutated. Each target runs in a child
 * process with a 256 MB heap and a watchdog, so a hang or runaway allocation is reported with
 * its case number instead of stalling the suite. FUZZ_SEED and FUZZ_PARSER_CASES override.
 * Findings are saved under test/fuzz/regressions/ and replayed by parser-regressions.test.ts.
 */
import { fuzzParser, saveParserFinding } from './parsers/supervise';
import { PARSER_TARGETS } from './parsers/targets';
import { REGRESSION_DIR } from './xdp/regressions';

const SEED = Number(process.env.FUZZ_SEED ?? 20261127);
const CASES = Number(process.env.FUZZ_PARSER_CASES ?? 2000);

test.each(PARSER_TARGETS.map((t) => t.name))(`%s: ${CASES} random and mutated inputs keep the contract (seed ${SEED})`, async (target) => {
  const r = await fuzzParser({ target, seed: SEED, cases: CASES, maxFindings: 3 });
  console.log(`parser fuzz ${target}: ${r.cases} inputs in ${r.elapsedMs} ms (${Math.round((r.cases / Math.max(1, r.elapsedMs)) * 1000)} inputs/s), ${r.findings.length} finding(s)`);
  const saved = r.findings.map((f) => `case ${f.index}: ${f.problem}\n  saved as ${saveParserFinding(f, REGRESSION_DIR)}`);
  expect(saved).toEqual([]);
  expect(r.cases).toBe(CASES);
}, 180_000);
