/**
 * Replays every saved parser fuzz finding (test/fuzz/regressions/parser-*.json): the input is
 * regenerated from (target, seed, case) and run under the same watchdog and heap ceiling.
 */
import { fuzzParser, loadParserFindings } from './parsers/supervise';
import { REGRESSION_DIR } from './xdp/regressions';

const findings = loadParserFindings(REGRESSION_DIR);

test('the parser regression corpus is not empty', () => {
  expect(findings.length).toBeGreaterThan(0);
});

test.each(findings.map(({ file, f }) => [file, f] as const))('%s', async (_file, f) => {
  const r = await fuzzParser({ target: f.target, seed: f.seed, first: f.index, cases: 1, maxFindings: 1 });
  expect(r.findings.map((x) => x.problem)).toEqual([]);
}, 60_000);
