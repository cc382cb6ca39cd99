/**
 * Catalog zones (RFC 9432): a secondary named adds the zones a catalog lists, with no change to
 * named.conf or to any zone Santa reads. A member added under a zone Santa caches changes the
 * answers for its names. `santa run` beside that secondary, a primary in the client namespace
 * serving the catalog and the member, queries from the client namespace. The primary's NOTIFY for
 * the catalog passes the XDP program on its way to named: every cached answer stops and is asked
 * of BIND again after the hold. Rechecks are set ten minutes apart, serial polls too, so nothing
 * else could catch the change in time.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTopology, type Topology } from '../support/netns';
import { startBind, type BindServer } from '../support/bind';
import { wwwZone } from '../support/zones';
import { type QuestionSpec } from '../support/dns-client';
import { servedBy } from '../support/served';
import { requireRoot, requireTools } from '../support/require-root';
import { waitFor, type Background } from '../support/process';
import { spawnSantaRun, tearDownSantaRun, writeSantaRunConfig } from '../support/santa-run';

/** A version 2 catalog listing `members`. */
function catalog(serial: number, members: readonly string[]): string {
  return ['$TTL 300', `@ IN SOA invalid. hostmaster.invalid. ${serial} 3600 600 86400 300`, '@ IN NS invalid.', 'version IN TXT "2"', ...members.map((m, i) => `m${i}.zones IN PTR ${m}.`), ''].join('\n');
}

describe('santa run: a zone added by a catalog under a cached zone', () => {
  let topo: Topology;
  let primary: BindServer;
  let bind: BindServer;
  let santa: Background | undefined;
  let work: string;
  let pinDir: string;

  const santaOutput = () => santa?.output() ?? '';
  const { fromClient, servedFromXdp, stats } = servedBy({ topo: () => topo, pinDir: () => pinDir, output: santaOutput });

  beforeAll(async () => {
    requireRoot('santa run end to end (catalog zones)');
    requireTools('santa run end to end (catalog zones)', ['named', 'nsenter', 'rndc']);
    topo = await createTopology();
    work = mkdtempSync(join(tmpdir(), 'santa-catalog-'));
    pinDir = `/sys/fs/bpf/santa-test-catalog-${process.pid}`;
    primary = await startBind({
      netns: topo.client.ns,
      addresses: [topo.client.v4],
      zones: [
        { name: 'cat.test', text: catalog(1, []), options: `notify explicit; also-notify { ${topo.server.v4}; };` },
        { name: 'sub.example.test', text: wwwZone('sub.example.test', 1, '192.0.2.77') },
      ],
    });
    bind = await startBind({
      netns: topo.server.ns,
      addresses: [topo.server.v4, '127.0.0.1'],
      queryLog: true,
      extraOptions: `catalog-zones { zone "cat.test" default-primaries { ${topo.client.v4}; }; };`,
      zones: [
        { name: 'example.test', text: wwwZone('example.test', 1, '192.0.2.1') },
        { name: 'cat.test', type: 'secondary', file: 'cat.test.db', options: `primaries { ${topo.client.v4}; };` },
      ],
    });
    writeSantaRunConfig(work, { topo, bind, pinDir, leaseSeconds: 30, serialPollSeconds: 600, changeHoldSeconds: 4, recheckSeconds: 600 });
    santa = spawnSantaRun(topo, join(work, 'santa.yaml'));
  }, 120_000);

  afterAll(async () => {
    await primary?.stop();
    await tearDownSantaRun({ santa, bind, topo, pinDir, work });
  });

  const wwwSub: QuestionSpec = { name: 'www.sub.example.test', type: 'A', rd: true, edns: { udpSize: 1232 } };

  it('the catalog’s NOTIFY stops every cached answer; the member’s names then come from BIND, never the parent’s data', async () => {
    expect((await servedFromXdp(wwwSub, 'www.sub.example.test (NXDOMAIN) from XDP')).rcode).toBe('NXDOMAIN');
    const zoneChanges = stats().ZONE_CHANGES;
    writeFileSync(join(primary.workDir, 'zones', 'cat.test.zone'), catalog(2, ['sub.example.test']));
    await primary.rndc('reload', 'cat.test');
    await waitFor('santa to see the catalog change', async () => santaOutput().includes('catalog zone cat.test changed') || undefined, { timeoutMs: 15_000, intervalMs: 100, describe: santaOutput });
    expect(stats().ZONE_CHANGES).toBeGreaterThan(zoneChanges);
    // named adds the member and transfers it; from then on its answer, and never from XDP.
    await waitFor('named to serve the member zone', async () => {
      const a = await fromClient(wwwSub);
      return a.packet.answers?.some((x) => x.type === 'A' && x.data === '192.0.2.77') || undefined;
    }, { timeoutMs: 20_000, intervalMs: 200, describe: () => bind.log().slice(-2000) });
    // Past the hold, the parent's NXDOMAIN is asked of BIND again, which no longer gives it.
    await new Promise((r) => setTimeout(r, 6_000));
    for (let i = 0; i < 10; i++) {
      const hits = stats().HITS;
      const a = await fromClient(wwwSub);
      const address = a.packet.answers?.find((x): x is { type: 'A'; name: string; data: string } => x.type === 'A')?.data;
      expect([a.rcode, address, stats().HITS - hits]).toEqual(['NOERROR', '192.0.2.77', 0]);
    }
  }, 120_000);
});
