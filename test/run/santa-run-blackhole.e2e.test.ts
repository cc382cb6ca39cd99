/**
 * `santa run` with a named.conf that blackholes a client network: named drops queries from it
 * unanswered, and so must the XDP program, even for a question it has cached; likewise queries
 * from the source ports named drops (echo, daytime, chargen, time). Real BIND and the
 * sidecar in the server namespace, clients at two addresses of the client namespace (one
 * blackholed), native loader, generic XDP.
 */
import { digA } from '../support/dig';
import type { Topology } from '../support/netns';
import { pinnedStats } from '../support/santa-maps';
import { tearDownSantaRun } from '../support/santa-run';
import { startTwoNetworkSanta, WWW_ADDRESS, type TwoNetworkSanta } from '../support/two-networks';

/** A client address in the blackholed network (its own /24, routed back by the server). */
const BLACKHOLED = '10.54.1.1';

describe('santa run leaves queries from blackholed clients to BIND, which drops them', () => {
  let run: TwoNetworkSanta;

  const stats = () => pinnedStats(run.pinDir);
  // `source` may name a port too (address#port).
  const digFrom = (topo: Topology, source: string) => digA(topo, 'www.one.test', { source, args: ['+nocookie', '+tries=1', '+time=1'] });
  const dig = (source: string) => digFrom(run.topo, source);

  beforeAll(async () => {
    run = await startTwoNetworkSanta('santa run with blackhole', {
      secondClient: BLACKHOLED,
      extraOptions: 'blackhole { far; };',
      extraConfig: 'acl far { 10.54.0.0/16; };',
      warmUp: (topo) => digFrom(topo, topo.client.v4),
    });
  }, 120_000);

  afterAll(() => tearDownSantaRun(run ?? {}));

  it('gets no answer from a blackholed address, for a cached question, while another address is answered from XDP', async () => {
    expect(run.santa.output()).toContain('queries from blackholed clients are left to BIND');
    const before = stats();
    const blackholed = [await dig(BLACKHOLED), await dig(BLACKHOLED)];
    const served = await dig(run.topo.client.v4);
    const after = stats();
    const moved = (name: string) => after[name] - before[name];

    for (const r of blackholed) expect(r).toMatchObject({ status: undefined, answer: undefined, timedOut: true });
    expect(moved('PASS_BLACKHOLE')).toBe(2);
    expect({ status: served.status, answer: served.answer }).toEqual({ status: 'NOERROR', answer: WWW_ADDRESS });
    expect(moved('HITS')).toBe(1);
  }, 60_000);

  it('gets no answer from source port 19 (chargen), which named drops requests from, while port 20 is answered from XDP', async () => {
    const before = stats();
    const chargen = await dig(`${run.topo.client.v4}#19`);
    const next = await dig(`${run.topo.client.v4}#20`);
    const after = stats();
    expect(chargen).toMatchObject({ status: undefined, answer: undefined, timedOut: true });
    expect({ status: next.status, answer: next.answer }).toEqual({ status: 'NOERROR', answer: WWW_ADDRESS });
    expect({ hits: after.HITS - before.HITS, unsupported: after.PASS_UNSUPPORTED - before.PASS_UNSUPPORTED }).toEqual({ hits: 1, unsupported: 1 });
  }, 60_000);
});
