/**
 * Replays every saved XDP fuzz case (test/fuzz/regressions/xdp-*.json) against the real
 * program and the model: each must now agree. A case stays in the corpus after its fix.
 */
import { requireRoot } from '../support/require-root';
import { SantaUnderTest } from '../xdp/harness';
import { TEST_RUN_MAX_FRAME, XdpFuzzer } from './xdp/engine';
import { runCase } from './xdp/oracle';
import { loadRegressions, replaySettings } from './xdp/regressions';

const cases = loadRegressions();
let santa: SantaUnderTest;
let fuzzer: XdpFuzzer;

beforeAll(() => {
  requireRoot('XDP fuzz regressions');
  santa = SantaUnderTest.load();
  fuzzer = new XdpFuzzer(santa);
});

afterAll(() => {
  fuzzer?.close();
  santa?.close();
});

test('the regression corpus is not empty', () => {
  expect(cases.length).toBeGreaterThan(0);
});

test.each(cases.map(({ file, c }) => [file, c] as const))('%s', (_file, c) => {
  const { settings, rrl } = replaySettings(c);
  santa.settings(settings);
  fuzzer.limiter.configure(rrl);
  try {
    const frame = Buffer.from(c.frameHex, 'hex');
    const v = runCase(santa, { settings, entries: fuzzer.universe.index, maxFrame: TEST_RUN_MAX_FRAME }, frame, fuzzer.limiter);
    expect(v.problems).toEqual([]);
  } finally {
    fuzzer.limiter.configure(null);
  }
});
