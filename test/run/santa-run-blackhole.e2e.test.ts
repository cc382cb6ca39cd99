/**
 * `santa run` with a named.conf that blackholes a client network: named drops queries from it
 * unanswered, and so must the XDP program, even for a question it has cached; likewise queries
 * from the source ports named drops (echo, daytime, chargen, time). Real BIND and the
 * sidecar in the server namespace, clients at two addresses of the client namespace (one
 * blackholed), native loader, generic XDP.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addClientNetwork, createTopology, type Topology } from '../support/netns';
import { pinnedStats } from '../support/santa-maps';
import { startBind, type BindServer } from '../support/bind';
import { requireRoot, requireTools } from '../support/require-root';
import { type Background } from '../support/process';
import { askUntilXdpHit, digA } from '../support/dig';
import { wwwZone } from '../support/zones';
import { spawnSantaRun, tearDownSantaRun, writeSantaRunConfig } from '../support/santa-run';

/** A client address in the blackholed network (its own /24, routed back by the server). */
const BLACKHOLED = '10.54.1.1';

describe('santa run leaves queries from blackholed clients to BIND, which drops them', () => {
  let topo: Topology;
  let bind: BindServer;
  let santa: Background | undefined;
  let work: string;
  let pinDir: string;

  const stats = () => pinnedStats(pinDir);
  // `source` may name a port too (address#port).
  const dig = (source: string) => digA(topo, 'www.one.test', { source, args: ['+nocookie', '+tries=1', '+time=1'] });

  beforeAll(async () => {
    requireRoot('santa run with blackhole');
    requireTools('santa run with blackhole', ['named', 'dig', 'nsenter', 'ip']);
    topo = await createTopology();
    await addClientNetwork(topo, BLACKHOLED);
    work = mkdtempSync(join(tmpdir(), 'santa-blackhole-run-'));
    pinDir = `/sys/fs/bpf/santa-blackhole-test-${process.pid}`;
    bind = await startBind({
      netns: topo.server.ns,
      addresses: [topo.server.v4, '127.0.0.1'],
      queryLog: true,
      extraOptions: 'blackhole { far; };',
      extraConfig: 'acl far { 10.54.0.0/16; };',
      zones: [{ name: 'one.test', text: wwwZone('one.test', 1, '192.0.2.1') }],
    });
    const config = writeSantaRunConfig(work, { topo, bind, pinDir, leaseSeconds: 60 });
    santa = spawnSantaRun(topo, config);
    await askUntilXdpHit(() => dig(topo.client.v4), '192.0.2.1', () => stats().HITS, () => santa?.output() ?? '');
  }, 120_000);

  afterAll(() => tearDownSantaRun({ santa, bind, topo, pinDir, work }));

  it('gets no answer from a blackholed address, for a cached question, while another address is answered from XDP', async () => {
    expect(santa?.output()).toContain('queries from blackholed clients are left to BIND');
    const before = stats();
    const blackholed = [await dig(BLACKHOLED), await dig(BLACKHOLED)];
    const served = await dig(topo.client.v4);
    const after = stats();
    const moved = (name: string) => after[name] - before[name];

    for (const r of blackholed) expect(r).toMatchObject({ status: undefined, answer: undefined, timedOut: true });
    expect(moved('PASS_BLACKHOLE')).toBe(2);
    expect({ status: served.status, answer: served.answer }).toEqual({ status: 'NOERROR', answer: '192.0.2.1' });
    expect(moved('HITS')).toBe(1);
  }, 60_000);

  it('gets no answer from source port 19 (chargen), which named drops requests from, while port 20 is answered from XDP', async () => {
    const before = stats();
    const chargen = await dig(`${topo.client.v4}#19`);
    const next = await dig(`${topo.client.v4}#20`);
    const after = stats();
    expect(chargen).toMatchObject({ status: undefined, answer: undefined, timedOut: true });
    expect({ status: next.status, answer: next.answer }).toEqual({ status: 'NOERROR', answer: '192.0.2.1' });
    expect({ hits: after.HITS - before.HITS, unsupported: after.PASS_UNSUPPORTED - before.PASS_UNSUPPORTED }).toEqual({ hits: 1, unsupported: 1 });
  }, 60_000);
});
