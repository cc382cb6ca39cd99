/**
 * Replays every saved XDP fuzz case (test/fuzz/regressions/xdp-*.json) against the real
 * program and the model: each must now agree. A case stays in the corpus after its fix.
 */
import { requireRoot } from '../support/require-root';
import { SantaUnderTest } from '../xdp/harness';
import { TEST_RUN_MAX_FRAME, XdpFuzzer } from './xdp/engine';
import { runCase } from './xdp/oracle';
import { loadRegressions } from './xdp/regressions';

const cases = loadRegressions();
let santa: SantaUnderTest;
let fuzzer: XdpFuzzer;

beforeAll(() => {
  requireRoot('XDP fuzz regressions');
  santa = SantaUnderTest.load();
  fuzzer = new XdpFuzzer(santa);
});

afterAll(() => santa?.close());

test('the regression corpus is not empty', () => {
  expect(cases.length).toBeGreaterThan(0);
});

test.each(cases.map(({ file, c }) => [file, c] as const))('%s', (_file, c) => {
  santa.settings(c.settings);
  const frame = Buffer.from(c.frameHex, 'hex');
  const v = runCase(santa, { settings: c.settings, entries: fuzzer.universe.index, maxFrame: TEST_RUN_MAX_FRAME }, frame);
  expect(v.problems).toEqual([]);
});
