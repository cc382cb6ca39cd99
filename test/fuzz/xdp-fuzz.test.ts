/**
 * Differential fuzzing of santa_xdp (issue 8, part 1): 100k+ generated frames through the real
 * program (BPF_PROG_TEST_RUN, repeat = 1), each held to the reference model in test/fuzz/model.
 * FUZZ_SEED and FUZZ_CASES override the defaults; failing cases are saved under
 * test/fuzz/regressions/ and replayed by xdp-regressions.test.ts.
 */
import { buildFrame, ETH_P_8021AD, ETH_P_8021Q } from '../support/packets';
import { requireRoot } from '../support/require-root';
import { SantaUnderTest } from '../xdp/harness';
import { decide } from './model';
import { encodeQuery, plainOpt } from './xdp/dns';
import { FuzzReport, XdpFuzzer, settingsForBlock } from './xdp/engine';
import { runCase } from './xdp/oracle';
import { REGRESSION_DIR } from './xdp/regressions';
import { SETTINGS_VARIANTS } from './xdp/settings';

const SEED = Number(process.env.FUZZ_SEED ?? 20261127);
const CASES = Number(process.env.FUZZ_CASES ?? 100_000);
/** Enough for 100k cases at the slowest rate seen (~3.5k/s) with room to spare. */
const TIME_LIMIT_MS = 150_000;

let santa: SantaUnderTest;
let fuzzer: XdpFuzzer;

beforeAll(() => {
  requireRoot('XDP differential fuzzing');
  santa = SantaUnderTest.load();
  fuzzer = new XdpFuzzer(santa);
});

afterAll(() => {
  fuzzer?.close();
  santa?.close();
});

function describeFailures(r: FuzzReport): string {
  return r.failures
    .slice(0, 5)
    .map((f) => `seed ${f.seed} case ${f.index} (${f.kind}, ${f.settingsName}, model ${f.model}) saved as ${f.savedAs}\n  ${f.problems.join('\n  ')}\n  frame ${f.frameHex}`)
    .join('\n');
}

test(`${CASES} generated frames: the program decides exactly as the model (seed ${SEED})`, () => {
  const r = fuzzer.run({ seed: SEED, cases: CASES, regressionDir: REGRESSION_DIR, timeLimitMs: TIME_LIMIT_MS, maxFailures: 5 });
  // Throughput is reported, never asserted.
  console.log(`xdp fuzz: seed ${SEED}, ${r.cases} cases in ${r.elapsedMs} ms (${r.casesPerSecond} cases/s); outcomes ${JSON.stringify(r.outcomes)}`);
  if (r.failures.length > 0) throw new Error(`${r.failures.length} case(s) disagree with the model:\n${describeFailures(r)}`);
  expect(r.cases).toBe(CASES);
  expect(r.hitCounterMismatches).toEqual([]);
  // The loopback guard ran on every frame the test run can make an skb of, and bumped zones.
  console.log(`loopback guard: ${r.loopbackGuardRuns} runs, ${r.loopbackGuardBumps} bumps`);
  expect(r.loopbackGuardRuns).toBeGreaterThan(CASES * 0.9);
  expect(r.loopbackGuardBumps).toBeGreaterThan(0);
  // The generators must keep reaching every outcome the test run can produce (NO_ROOM needs a
  // driver without room, which the test run never is).
  const reachable = [
    'TX', 'PASS_DISABLED', 'PASS_NOT_DNS', 'PASS_FRAGMENT', 'PASS_MALFORMED', 'PASS_UNSUPPORTED', 'PASS_EDNS_VERSION', 'PASS_EDNS_OPTIONS',
    'PASS_MISS', 'PASS_EXPIRED', 'PASS_TOO_BIG', 'DRY_RUN_HITS', 'PASS_BAD_COOKIE', 'TX_COOKIE',
    'RRL_DROP', 'RRL_SLIP', 'RRL_SLIP_BADCOOKIE', 'TX_WOULD_LIMIT', 'PASS_ZONE_CHANGED', 'ZONE_CHANGE', 'PASS_BLACKHOLE',
  ];
  expect(reachable.filter((o) => !(r.outcomes[o] > 0))).toEqual([]);
  // Each kind of cookie reached what it was made for, and nothing refused was answered.
  const byKind = new Map<string, string[]>();
  for (const [k, n] of Object.entries(r.cookieOutcomes)) {
    const [kind, outcome] = k.split(' -> ');
    byKind.set(kind, [...(byKind.get(kind) ?? []), `${outcome} ${n}`]);
  }
  console.log(`xdp fuzz cookie kinds -> outcomes:\n${[...byKind].sort().map(([k, o]) => `  ${k}: ${o.join(', ')}`).join('\n')}`);
  const reached = (kind: string, outcome: string) => Object.entries(r.cookieOutcomes).some(([k, n]) => k.startsWith(`${kind} `) && k.endsWith(`> ${outcome}`) && n > 0);
  for (const kind of ['client', 'fresh']) expect([kind, reached(kind, 'TX_COOKIE')]).toEqual([kind, true]);
  for (const kind of ['client', 'stale', 'ahead', 'version', 'reserved', 'hash-bit', 'other-address', 'other-secret', 'odd-length']) {
    expect([kind, reached(kind, 'PASS_BAD_COOKIE')]).toEqual([kind, true]);
  }
  expect(reached('other-options', 'PASS_EDNS_OPTIONS')).toBe(true);
}, TIME_LIMIT_MS + 30_000);

test('valid queries truncated at every offset pass untouched with the model reason', () => {
  const universe = fuzzer.universe;
  const www = universe.names[0];
  const big = universe.names.find((n) => n.wire.length >= 200)!;
  const queries = [
    { name: www.wire, qtype: www.qtype, opt: undefined, v6: false, spec: { src: '203.0.113.9', dst: '198.51.100.53' } },
    { name: www.wire, qtype: www.qtype, opt: plainOpt(1232, true), v6: true, spec: { src: '2001:db8::9', dst: '2001:db8::53', vlans: [{ tpid: ETH_P_8021AD, vid: 7 }, { tpid: ETH_P_8021Q, vid: 8 }] } },
    { name: big.wire, qtype: big.qtype, opt: plainOpt(4096, false), v6: false, spec: { src: '10.53.0.1', dst: '10.53.0.2', ipv4Options: Buffer.alloc(12, 1), vlans: [{ tpid: ETH_P_8021Q, vid: 9 }] } },
  ];
  const variant = SETTINGS_VARIANTS[0];
  santa.settings(variant.settings);
  const world = fuzzer.world(variant);
  const problems: string[] = [];
  let cases = 0;
  for (const q of queries) {
    const msg = encodeQuery({ id: 0x1234, flags: 0x0100, counts: [1, 0, 0, q.opt ? 1 : 0], name: q.name, qtype: q.qtype, qclass: 1, opt: q.opt, trailing: Buffer.alloc(0) });
    const frame = buildFrame(q.spec, msg);
    // The whole frame must be a hit under the model, or the sweep proves little.
    expect(decide({ ...world, nowJiffies: santa.maps.leaseJiffies(process.hrtime.bigint()), nowSeconds: 0 }, frame).verdict).toBe('tx');
    for (let len = 14; len < frame.length; len++) {
      const v = runCase(santa, world, frame.subarray(0, len));
      cases++;
      if (v.decision.verdict !== 'pass') problems.push(`${len} bytes: the model answers a truncated frame`);
      if (v.problems.length > 0) problems.push(`${len} of ${frame.length} bytes: ${v.problems.join('; ')}\n  frame ${frame.subarray(0, len).toString('hex')}`);
    }
  }
  expect(cases).toBeGreaterThan(300);
  expect(problems).toEqual([]);
});

test('settings blocks are drawn from every variant over a long run', () => {
  const seen = new Set<string>();
  for (let block = 0; block < 400; block++) seen.add(settingsForBlock(SEED, block).name);
  expect([...seen].sort()).toEqual(SETTINGS_VARIANTS.map((v) => v.name).sort());
});
