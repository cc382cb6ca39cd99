/**
 * `santa run` with `bind.signed_zones: transfer` and `bind.secondary_zones: transfer`, end to
 * end: a zone named signs itself (dnssec-policy default, inline-signing) is served from XDP as
 * named serves it, taken by AXFR from BIND; so is a zone BIND is secondary for (its copy in raw
 * format), which follows its primary (in the client namespace) through NOTIFY and transfers. DO=1 answers (with named's own signatures) and negative answers (with named's
 * serial) come from XDP; when named re-signs, the zone is withdrawn, transferred again and served
 * as named now serves it (Santa learns of each new serial from named's NOTIFY: its own serial
 * polls are set ten minutes apart here); an edit of the unsigned file is never answered from old data once BIND
 * serves the new.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pinnedEntryNames } from '../support/santa-maps';
import { createTopology, type Topology } from '../support/netns';
import { startBind, type BindServer } from '../support/bind';
import { wwwZone } from '../support/zones';
import { query, type QuestionSpec } from '../support/dns-client';
import { servedBy } from '../support/served';
import { requireRoot, requireTools } from '../support/require-root';
import { expectNoStaleAnswer } from '../support/freshness';
import { waitFor, type Background } from '../support/process';
import { spawnSantaRun, tearDownSantaRun, writeSantaRunConfig } from '../support/santa-run';

const NOTIFY_PORT = 5301;

function zoneText(serial: number, www: string, zone = 'six.test'): string {
  return wwwZone(zone, serial, www);
}

describe('santa run serving zones from transfers: one named signs, one it is secondary for', () => {
  let topo: Topology;
  let bind: BindServer;
  /** The primary of seven.test, in the client namespace (one named per namespace). */
  let primary: BindServer;
  let santa: Background | undefined;
  let work: string;
  let pinDir: string;

  const santaOutput = () => santa?.output() ?? '';
  const { servedFromXdp, probe } = servedBy({ topo: () => topo, pinDir: () => pinDir, output: santaOutput });
  const soaSerial = async () => {
    const soa = await query({ name: 'six.test', type: 'SOA' }, { server: '127.0.0.1', netns: topo.server.ns, transport: 'tcp' });
    return (soa.packet.answers?.find((x) => x.type === 'SOA')?.data as { serial: number }).serial;
  };

  beforeAll(async () => {
    requireRoot('santa run end to end (transfer)');
    requireTools('santa run end to end (transfer)', ['named', 'nsenter', 'rndc', 'curl']);
    topo = await createTopology();
    work = mkdtempSync(join(tmpdir(), 'santa-transfer-'));
    pinDir = `/sys/fs/bpf/santa-test-transfer-${process.pid}`;
    primary = await startBind({
      netns: topo.client.ns,
      addresses: [topo.client.v4],
      zones: [{ name: 'seven.test', text: zoneText(1, '192.0.2.7', 'seven.test'), options: `notify explicit; also-notify { ${topo.server.v4}; };` }],
    });
    bind = await startBind({
      netns: topo.server.ns,
      addresses: [topo.server.v4, '127.0.0.1'],
      queryLog: true,
      // named tells Santa of each new serial (notify explicit: to also-notify only): the serial
      // polls below are too slow to see any.
      zones: [
        { name: 'six.test', text: zoneText(1, '192.0.2.6'), options: `dnssec-policy default; inline-signing yes; notify explicit; also-notify { 127.0.0.1 port ${NOTIFY_PORT}; };` },
        // A secondary whose copy named keeps in raw format, which Santa cannot read.
        { name: 'seven.test', type: 'secondary', file: 'seven.test.db', options: `primaries { ${topo.client.v4}; }; notify explicit; also-notify { 127.0.0.1 port ${NOTIFY_PORT}; };` },
      ],
    });
    // named signs in steps at first, moving its serial each time; let it finish.
    let last = -1;
    await waitFor('named to finish signing', async () => {
      const now = await soaSerial();
      const settled = now === last && now !== 1;
      last = now;
      return settled || undefined;
    }, { timeoutMs: 60_000, intervalMs: 1500 });
    writeSantaRunConfig(work, { topo, bind, pinDir, leaseSeconds: 3, reloadBind: true, signedZones: 'transfer', secondaryZones: 'transfer', serialPollSeconds: 600, notifyListen: `127.0.0.1:${NOTIFY_PORT}`, metricsListen: '127.0.0.1:9154' });
    santa = spawnSantaRun(topo, join(work, 'santa.yaml'));
  }, 120_000);

  afterAll(async () => {
    await primary?.stop();
    await tearDownSantaRun({ santa, bind, topo, pinDir, work });
  });

  const signedWww: QuestionSpec = { name: 'www.six.test', type: 'A', rd: true, edns: { udpSize: 1232, do: true } };
  const nxdomain: QuestionSpec = { name: 'nothere.six.test', type: 'A', rd: true, edns: { udpSize: 1232 } };

  it('serves DO=1 answers, named’s signatures included, and negative answers with named’s serial, from XDP', async () => {
    const signed = await servedFromXdp(signedWww, 'www.six.test DO=1 from XDP');
    expect(signed.packet.answers?.map((rr) => rr.type)).toEqual(['A', 'RRSIG']);
    const negative = await servedFromXdp(nxdomain, 'nothere.six.test from XDP');
    expect(negative.rcode).toBe('NXDOMAIN');
    expect(negative.packet.authorities?.map((rr) => rr.type)).toEqual(['SOA']);
    expect(santaOutput()).toMatch(/"zone":"six\.test".*"zone transferred"/);
    expect(santaOutput()).toContain('listening for NOTIFY from named');
  }, 60_000);

  it('withdraws the zone when named re-signs, and serves it as named now does once transferred again', async () => {
    const serial = await soaSerial();
    const withdrawals = () => santaOutput().split('\n').filter((l) => l.includes('"zone":"six.test"') && l.includes('zone withdrawn')).length;
    const withdrawn = withdrawals();
    await bind.rndc('sign', 'six.test');
    await waitFor('named to move its serial', async () => (await soaSerial()) !== serial || undefined, { timeoutMs: 30_000, intervalMs: 300 });
    await waitFor('santa to withdraw six.test', async () => withdrawals() > withdrawn || undefined, { timeoutMs: 10_000, intervalMs: 200, describe: santaOutput });
    expect(santaOutput()).toMatch(/"zone":"six\.test".*"NOTIFY: asking the serial now"/);
    const moved = await soaSerial();
    await servedFromXdp(signedWww, 'www.six.test DO=1 from XDP after the re-sign');
    // The negative answer carries the SOA: from XDP now with named's new serial.
    const negative = await servedFromXdp(nxdomain, 'nothere.six.test from XDP after the re-sign');
    expect((negative.packet.authorities?.find((rr) => rr.type === 'SOA')?.data as { serial: number }).serial).toBe(moved);
    // The same, counted on /metrics.
    const metrics = (await topo.exec(topo.server, ['curl', '-sf', 'http://127.0.0.1:9154/metrics'])).stdout;
    const value = (series: string) => Number(metrics.split('\n').find((l) => l.startsWith(`${series} `))?.split(' ')[1] ?? NaN);
    expect(value('santa_zone_transfers_total{result="taken"}')).toBeGreaterThanOrEqual(2);
    expect(value('santa_notify_received_total')).toBeGreaterThanOrEqual(1);
  }, 60_000);

  it('never answers from the old data once BIND serves an edit of the unsigned file, then serves the new data from XDP', async () => {
    const www: QuestionSpec = { name: 'www.six.test', type: 'A', rd: true, edns: { udpSize: 1232 } };
    await servedFromXdp(www, 'www.six.test DO=0 from XDP');
    writeFileSync(join(bind.workDir, 'zones/six.test.zone'), zoneText(2, '192.0.2.66'));
    await expectNoStaleAnswer(probe(www, '192.0.2.66'));
    expect(pinnedEntryNames(pinDir).some((n) => n.includes('six'))).toBe(true);
  }, 60_000);

  it('serves a secondary zone (raw-format copy) from transfers, and follows its primary', async () => {
    const www: QuestionSpec = { name: 'www.seven.test', type: 'A', rd: true, edns: { udpSize: 1232 } };
    await servedFromXdp(www, 'www.seven.test from XDP');
    expect(await servedFromXdp({ ...www, name: 'nothere.seven.test' }, 'nothere.seven.test from XDP')).toMatchObject({ rcode: 'NXDOMAIN' });
    // The primary changes the zone; it notifies the secondary, which transfers and notifies Santa.
    writeFileSync(join(primary.workDir, 'zones/seven.test.zone'), zoneText(2, '192.0.2.77', 'seven.test'));
    await primary.rndc('reload', 'seven.test');
    await expectNoStaleAnswer(probe(www, '192.0.2.77'));
  }, 60_000);
});
