/**
 * `santa run` with a named.conf whose only rate-limit configuration is BIND's own
 * `rate-limit {}` block: once the name is answered from XDP, a bounded flood from one client
 * address is limited by the program (most queries dropped, every 2nd limited one slipped as a
 * truncated reply), dig from that address still gets the full answer by retrying over TCP
 * (BIND, which never limits TCP), and a client in another /24 is answered from XDP throughout.
 * Real BIND and the sidecar in the server namespace, clients in the client namespace, native
 * loader, generic XDP.
 */
import { join } from 'node:path';
import { sleep } from '../support/process';
import { digA } from '../support/dig';
import type { Topology } from '../support/netns';
import { pinnedStats } from '../support/santa-maps';
import { tearDownSantaRun } from '../support/santa-run';
import { startTwoNetworkSanta, WWW_ADDRESS, type TwoNetworkSanta } from '../support/two-networks';
import type { Tally } from './flood';

const RATE = 5;
const FLOOD = { count: 2000, ms: 4000 };
/** A second client address, in another /24 than the flood's. */
const OTHER_CLIENT = '10.54.1.1';

describe('santa run applies named.conf rate-limit to the answers XDP sends', () => {
  let run: TwoNetworkSanta;

  const stats = () => pinnedStats(run.pinDir);
  const digFrom = (topo: Topology, source: string, extra: string[] = []) => digA(topo, 'www.one.test', { source, args: ['+nocookie', '+time=1', ...extra] });
  const dig = (source: string, extra: string[] = []) => digFrom(run.topo, source, extra);

  beforeAll(async () => {
    run = await startTwoNetworkSanta('santa run with rate-limit', {
      secondClient: OTHER_CLIENT,
      extraOptions: `rate-limit { responses-per-second ${RATE}; window 2; slip 2; };`,
      // Asked (of BIND at first, below its rate) until santa has made the name hot and installed it.
      warmUp: (topo) => digFrom(topo, topo.client.v4, ['+tries=1']),
    });
  }, 120_000);

  afterAll(() => tearDownSantaRun(run ?? {}));

  it('limits a flood from one address, slips valid truncated replies, and keeps serving another /24', async () => {
    expect(run.santa.output()).toContain('rate-limit from named.conf applied to XDP answers');
    const before = stats();
    const flood = run.topo.exec(run.topo.client, ['node', '--require', 'tsx/cjs', join(__dirname, 'flood.ts'), run.topo.server.v4, run.topo.client.v4, 'www.one.test', String(FLOOD.count), String(FLOOD.ms)], {
      timeoutMs: FLOOD.ms + 20_000,
    });
    await sleep(800);
    // During the flood: the flooded address retries over TCP when slipped; the other /24 is
    // answered in full over UDP.
    const flooded = [];
    const other = [];
    for (let i = 0; i < 4; i++) {
      flooded.push(await dig(run.topo.client.v4, ['+tries=5']));
      other.push(await dig(OTHER_CLIENT, ['+tries=1']));
    }
    const tally = JSON.parse((await flood).stdout) as Tally;
    const after = stats();
    const moved = (name: string) => after[name] - before[name];

    expect(tally.malformed).toEqual([]);
    expect(tally.sent).toBe(FLOOD.count);
    expect(tally.answered + tally.truncated + tally.unanswered).toBe(tally.sent);
    // At most `rate` answers per second of flood (plus the second it started in and one of
    // slack), everything else limited: about half slipped, half dropped (slip 2).
    const seconds = Math.ceil(tally.elapsedMs / 1000) + 2;
    expect(tally.answered).toBeLessThanOrEqual(RATE * seconds);
    expect(tally.truncated).toBeGreaterThan(FLOOD.count / 2 - RATE * seconds - 50);
    expect(tally.unanswered).toBeGreaterThan(FLOOD.count / 2 - RATE * seconds - 50);
    expect(moved('RRL_SLIPPED')).toBeGreaterThanOrEqual(tally.truncated);
    expect(moved('RRL_DROPPED')).toBeGreaterThanOrEqual(tally.unanswered - 20);
    expect(Math.abs(moved('RRL_SLIPPED') - moved('RRL_DROPPED'))).toBeLessThanOrEqual(10);
    expect(moved('HITS')).toBeGreaterThanOrEqual(tally.answered + other.length);

    // dig turned slips into TCP queries BIND answered in full.
    for (const r of flooded) if (r.status) expect({ status: r.status, answer: r.answer }).toEqual({ status: 'NOERROR', answer: WWW_ADDRESS });
    expect(flooded.some((r) => r.retriedOverTcp && r.answer === '192.0.2.1')).toBe(true);
    // The other /24 was never limited.
    for (const r of other) {
      expect({ status: r.status, answer: r.answer, retriedOverTcp: r.retriedOverTcp }).toEqual({ status: 'NOERROR', answer: WWW_ADDRESS, retriedOverTcp: false });
    }
  }, 60_000);
});
