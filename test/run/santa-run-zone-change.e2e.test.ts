/**
 * The zone change guard end to end: `santa run` beside a real named, the program on the server
 * veth, and changes that reach named as messages rather than file edits. A dynamic update
 * (nsupdate over UDP and over TCP, from the client namespace) and a primary's NOTIFY to the
 * secondary all pass the XDP program on their way to named, as does the primary's answer when
 * the secondary transfers on its own refresh; an update sent on the server itself to 127.0.0.1
 * passes the loopback guard. Each stops the zone's cached answers before named can apply the
 * change. Santa's own serial polls are set ten minutes apart and it listens for no NOTIFY of
 * named's, so nothing else could stop the old answers in time: without the guard, XDP would go
 * on answering from the old data after named had the new.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTopology, type Topology } from '../support/netns';
import { startBind, type BindServer } from '../support/bind';
import { wwwZone } from '../support/zones';
import { query, type QuestionSpec } from '../support/dns-client';
import { servedBy } from '../support/served';
import { requireRoot, requireTools } from '../support/require-root';
import { expectNoStaleAnswer } from '../support/freshness';
import { waitFor, type Background } from '../support/process';
import { spawnSantaRun, tearDownSantaRun, writeSantaRunConfig } from '../support/santa-run';

const zoneText = wwwZone;

type A = { type: 'A'; name: string; data: string };

describe('santa run: UPDATE and NOTIFY stop a zone’s answers in XDP before named applies them', () => {
  let topo: Topology;
  let bind: BindServer;
  /** The primary of sec.test, in the client namespace (one named per namespace). */
  let primary: BindServer;
  let santa: Background | undefined;
  let work: string;
  let pinDir: string;

  const santaOutput = () => santa?.output() ?? '';
  const { stats, address, servedFromXdp, probe } = servedBy({ topo: () => topo, pinDir: () => pinDir, output: santaOutput });
  const changesSeen = (zone: string) => santaOutput().split('\n').filter((l) => l.includes(`"zone":"${zone}"`) && l.includes('an UPDATE, NOTIFY or transfer answer for the zone passed to BIND')).length;

  beforeAll(async () => {
    requireRoot('santa run end to end (zone change guard)');
    requireTools('santa run end to end (zone change guard)', ['named', 'nsenter', 'rndc', 'nsupdate']);
    topo = await createTopology();
    work = mkdtempSync(join(tmpdir(), 'santa-zone-change-'));
    pinDir = `/sys/fs/bpf/santa-test-zone-change-${process.pid}`;
    primary = await startBind({
      netns: topo.client.ns,
      addresses: [topo.client.v4],
      zones: [
        { name: 'sec.test', text: zoneText('sec.test', 1, '192.0.2.20'), options: `notify explicit; also-notify { ${topo.server.v4}; };` },
        // Tells no one of changes: the secondary learns of them only by its own refresh.
        { name: 'ref.test', text: zoneText('ref.test', 1, '192.0.2.30'), options: 'notify no;' },
      ],
    });
    bind = await startBind({
      netns: topo.server.ns,
      addresses: [topo.server.v4, '127.0.0.1'],
      queryLog: true,
      zones: [
        { name: 'dyn.test', text: zoneText('dyn.test', 1, '192.0.2.10'), options: 'allow-update { any; };' },
        // A secondary whose copy named writes as text, which Santa reads (bind.secondary_zones: file).
        { name: 'sec.test', type: 'secondary', file: 'sec.test.db', options: `primaries { ${topo.client.v4}; }; masterfile-format text;` },
        { name: 'ref.test', type: 'secondary', file: 'ref.test.db', options: `primaries { ${topo.client.v4}; }; masterfile-format text;` },
      ],
    });
    for (const zone of ['sec.test', 'ref.test']) {
      await waitFor(`named to transfer ${zone}`, async () => (await query({ name: `www.${zone}`, type: 'A' }, { server: '127.0.0.1', netns: topo.server.ns, timeoutMs: 1500 })).rcode === 'NOERROR' || undefined, { timeoutMs: 30_000, intervalMs: 300 });
    }
    writeSantaRunConfig(work, { topo, bind, pinDir, leaseSeconds: 30, serialPollSeconds: 600, changeHoldSeconds: 2 });
    santa = spawnSantaRun(topo, join(work, 'santa.yaml'));
  }, 120_000);

  afterAll(async () => {
    await primary?.stop();
    await tearDownSantaRun({ santa, bind, topo, pinDir, work });
  });

  const www: QuestionSpec = { name: 'www.dyn.test', type: 'A', rd: true, edns: { udpSize: 1232 } };
  const addressOf = (answer: { packet: { answers?: Array<{ type: string }> } }) => answer.packet.answers?.find((x): x is A => x.type === 'A')?.data;
  /** nsupdate from the client namespace, or on the server itself to 127.0.0.1 (over TCP with
   * -v); it returns once named has answered. */
  const nsupdate = (lines: string[], opts: { tcp?: boolean; local?: boolean; allowFailure?: boolean } = {}) =>
    topo.exec(opts.local ? topo.server : topo.client, ['nsupdate', ...(opts.tcp ? ['-v'] : []), '-t', '5'], {
      input: [`server ${opts.local ? '127.0.0.1' : topo.server.v4}`, 'zone dyn.test', ...lines, 'send', ''].join('\n'),
      allowFailure: opts.allowFailure,
    });

  /** www.dyn.test, served from XDP at `from`, updated to `to`: no answer from the old data once
   * nsupdate returns; cached again once named writes the zone file. */
  const updateWww = async (from: string, to: string, tcp: boolean, local = false) => {
    expect(addressOf(await servedFromXdp(www, 'www.dyn.test from XDP'))).toBe(from);
    const before = stats();
    const seen = changesSeen('dyn.test');
    await nsupdate(['update delete www.dyn.test A', `update add www.dyn.test 300 A ${to}`], { tcp, local });
    const answers: Array<string | undefined> = [];
    for (let i = 0; i < 20; i++) answers.push(await address(www));
    expect(answers).toEqual(Array(20).fill(to));
    const after = stats();
    // Seen by the XDP program on the server's veth, or by its guard on the server's lo.
    expect(after.ZONE_CHANGES - before.ZONE_CHANGES).toBe(local ? 0 : 1);
    expect(after.LOOPBACK_ZONE_CHANGES - before.LOOPBACK_ZONE_CHANGES).toBe(local ? 1 : 0);
    expect(after.HITS).toBe(before.HITS); // all twenty from BIND
    await waitFor('santa to see the change', async () => changesSeen('dyn.test') > seen || undefined, { timeoutMs: 5_000, intervalMs: 100, describe: santaOutput });
    // The change lives in named's journal until it writes the file; then Santa reads it, and
    // the new answer comes from XDP.
    await bind.rndc('sync', 'dyn.test');
    expect(addressOf(await servedFromXdp(www, 'the updated www.dyn.test from XDP'))).toBe(to);
  };

  it('a dynamic update: no answer from the old data once nsupdate returns; cached again once named writes the zone file', async () => {
    // nsupdate sends over UDP unless told otherwise.
    await updateWww('192.0.2.10', '192.0.2.11', false);
  }, 90_000);

  it('the same over TCP (nsupdate -v, as most ACME clients send updates)', async () => {
    await updateWww('192.0.2.11', '192.0.2.12', true);
  }, 90_000);

  it('from the server itself over loopback (nsupdate to 127.0.0.1, as a local ACME client sends), UDP and TCP', async () => {
    await updateWww('192.0.2.12', '192.0.2.13', false, true);
    await updateWww('192.0.2.13', '192.0.2.14', true, true);
  }, 120_000);

  it('an update BIND refuses: the zone comes back from XDP once the hold has run out, its data unchanged', async () => {
    await servedFromXdp(www, 'www.dyn.test from XDP');
    const before = stats();
    const seen = changesSeen('dyn.test');
    // The prerequisite fails (www exists): named answers YXDOMAIN and changes nothing.
    const r = await nsupdate(['prereq nxdomain www.dyn.test', 'update add www.dyn.test 300 A 192.0.2.99'], { allowFailure: true });
    expect(r.stdout + r.stderr).toMatch(/YXDOMAIN/);
    expect(stats().ZONE_CHANGES - before.ZONE_CHANGES).toBe(1);
    await waitFor('santa to see the change', async () => changesSeen('dyn.test') > seen || undefined, { timeoutMs: 5_000, intervalMs: 100, describe: santaOutput });
    // Its serial polls are ten minutes apart: only the end of the hold can bring the zone back.
    expect(addressOf(await servedFromXdp(www, 'www.dyn.test from XDP after the hold'))).toBe('192.0.2.14');
  }, 90_000);

  /** The primary's copy of `zone` changes to serial 2 with www at `to`; `then` is what makes the
   * secondary transfer it. No answer from the old data once named serves the new. */
  const primaryChanges = async (zone: string, to: string, then: () => Promise<unknown>) => {
    const zoneWww: QuestionSpec = { ...www, name: `www.${zone}` };
    await servedFromXdp(zoneWww, `www.${zone} from XDP`);
    const before = stats();
    const seen = changesSeen(zone);
    writeFileSync(join(primary.workDir, `zones/${zone}.zone`), zoneText(zone, 2, to));
    await primary.rndc('reload', zone);
    await then();
    await expectNoStaleAnswer(probe(zoneWww, to));
    expect(stats().ZONE_CHANGES - before.ZONE_CHANGES).toBeGreaterThanOrEqual(1);
    expect(changesSeen(zone)).toBeGreaterThan(seen);
  };

  it('a NOTIFY from the primary: the secondary’s answers stop before named transfers, and come back with the new data', async () => {
    // The primary's reload sends the NOTIFY.
    await primaryChanges('sec.test', '192.0.2.21', async () => undefined);
  }, 90_000);

  it('a secondary’s own refresh, with no NOTIFY: the primary’s transfer answer stops the zone’s answers before named applies it', async () => {
    // What named's refresh timer does when it runs out: ask the primary's serial, then transfer.
    await primaryChanges('ref.test', '192.0.2.31', () => bind.rndc('refresh', 'ref.test'));
  }, 90_000);
});
