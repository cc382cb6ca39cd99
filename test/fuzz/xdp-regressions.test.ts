/**
 * Replays every saved XDP fuzz case (test/fuzz/regressions/xdp-*.json) against the real
 * program and the model: each must now agree. A case stays in the corpus after its fix.
 */
import { addressBytes, buildFrame } from '../support/packets';
import { requireRoot } from '../support/require-root';
import { SantaUnderTest } from '../xdp/harness';
import { mintServerCookie } from './model';
import { encodeQuery, plainOpt } from './xdp/dns';
import { XdpFuzzer } from './xdp/engine';
import { outcomeName, runCase, runLoopbackGuardCase, Verdict } from './xdp/oracle';
import { loadRegressions, RegressionCase, replaySettings, savedSettings } from './xdp/regressions';
import { CLIENT_V4, COOKIE_SECRET, SERVER_V4, SETTINGS_VARIANTS } from './xdp/settings';

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

function replay(c: RegressionCase): Verdict {
  const { settings, rrl } = replaySettings(c);
  santa.settings(settings);
  fuzzer.limiter.configure(rrl);
  try {
    const frame = Buffer.from(c.frameHex, 'hex');
    const verdict = runCase(santa, fuzzer.world({ settings }), frame, fuzzer.limiter);
    // As the fuzzer ran it: the loopback guard on the same bytes next.
    verdict.problems.push(...(runLoopbackGuardCase(santa, fuzzer.world({ settings }), frame)?.problems ?? []));
    return verdict;
  } finally {
    fuzzer.limiter.configure(null);
  }
}

test.each(cases.map(({ file, c }) => [file, c] as const))('%s', (_file, c) => {
  expect(replay(c).problems).toEqual([]);
});

test('a saved cookie case replays at the second it ran: its server cookie is fresh again', () => {
  const second = 1_600_000_000; // long ago: the cookie would be stale on today's clock
  const www = fuzzer.universe.names[0];
  const client = Buffer.from('0102030405060708', 'hex');
  const server = mintServerCookie(COOKIE_SECRET, client, addressBytes(CLIENT_V4), second - 10);
  const rdata = Buffer.concat([Buffer.from([0, 10, 0, 24]), client, server]);
  const msg = encodeQuery({ id: 7, flags: 0, counts: [1, 0, 0, 1], name: www.wire, qtype: www.qtype, qclass: 1, opt: { ...plainOpt(1232, false), rdata }, trailing: Buffer.alloc(0) });
  const variant = SETTINGS_VARIANTS.find((v) => v.name === 'cookies')!;
  const c: RegressionCase = {
    seed: 0,
    index: 0,
    kind: 'valid:cookie-fresh',
    settingsName: variant.name,
    ...savedSettings(variant.settings, second),
    frameHex: buildFrame({ src: CLIENT_V4, dst: SERVER_V4, sport: 4000 }, msg).toString('hex'),
    model: 'TX_COOKIE',
    problems: [],
  };
  const v = replay(JSON.parse(JSON.stringify(c)) as RegressionCase);
  expect(v.problems).toEqual([]);
  expect(outcomeName(v.decision)).toBe('TX_COOKIE');
  // The reply's server cookie was minted at the saved second (the replay starts half-way in).
  expect(v.out.readUInt32BE(v.out.length - 12) - second).toBeLessThanOrEqual(1);
  expect(v.out.readUInt32BE(v.out.length - 12) - second).toBeGreaterThanOrEqual(0);
});
