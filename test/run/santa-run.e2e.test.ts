/**
 * `santa run` end to end, native loader: real BIND and the sidecar in the server namespace (as in
 * the compose deployment, where Santa shares BIND's network namespace), queries from the client
 * namespace. Checks the promises of the sidecar issue: hot questions become XDP hits; a zone edit
 * never yields an answer from the old data once BIND serves the new serial, and the new data is
 * then served from XDP; a broken zone file withdraws only that zone; after SIGKILL the entries
 * lapse with their lease and BIND answers everything. A zone signed with BIND's own tools has its
 * DO=1 answers, signatures included, served from XDP exactly as named sends them; a zone named
 * signs itself (inline-signing) has its DO=0 answers served, through named's re-signing.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pinnedEntryNames, pinnedStats } from '../support/santa-maps';
import { createTopology, type Topology } from '../support/netns';
import { startBind, type BindServer } from '../support/bind';
import { wwwZone } from '../support/zones';
import { query } from '../support/dns-client';
import { requireRoot, requireTools } from '../support/require-root';
import { expectNoStaleAnswer } from '../support/freshness';
import { sleep, waitFor, type Background } from '../support/process';
import { santaCommand, spawnSantaRun, writeSantaRunConfig } from '../support/santa-run';
import { signZone, type SignedZone } from '../support/sign-zone';
import { verifyResponse } from '../../sidecar/response/verify';

const LEASE_S = 3;

function zoneText(zone: string, serial: number, www: string): string {
  return wwwZone(zone, serial, www, [`mail IN MX 10 ns1.${zone}.`]);
}

describe('santa run (native loader) between real namespaces and a real BIND', () => {
  let topo: Topology;
  let bind: BindServer;
  let santa: Background | undefined;
  let work: string;
  let pinDir: string;
  let signed: SignedZone | undefined;

  const www = (zone: string) => ({ name: `www.${zone}`, type: 'A' as const, rd: true, edns: true });
  const ask = async (zone: string) => {
    const a = await query(www(zone), { server: topo.server.v4, netns: topo.client.ns, timeoutMs: 1500 });
    const rr = a.packet.answers?.find((x): x is { type: 'A'; name: string; data: string } => x.type === 'A');
    return rr ? rr.data : `rcode ${a.rcode}`;
  };
  const stats = () => pinnedStats(pinDir);
  const installedNames = () => pinnedEntryNames(pinDir);
  /** Lines BIND logged for the client's own queries (Santa's TCP polls are logged too). */
  const clientQueries = (zone: string) => bind.queryLog().split('\n').filter((l) => l.includes(`${topo.client.v4}#`) && l.includes(`(www.${zone})`)).length;
  const startSanta = () => {
    santa = spawnSantaRun(topo, join(work, 'santa.yaml'));
  };

  beforeAll(async () => {
    requireRoot('santa run end to end');
    requireTools('santa run end to end', ['named', 'nsenter']);
    topo = await createTopology();
    work = mkdtempSync(join(tmpdir(), 'santa-run-'));
    pinDir = `/sys/fs/bpf/santa-test-${process.pid}`;
    const unsigned = join(work, 'three');
    mkdirSync(unsigned);
    writeFileSync(join(unsigned, 'three.test.zone'), zoneText('three.test', 1, '203.0.113.3'));
    signed = await signZone({ sourceDir: unsigned, zoneFile: 'three.test.zone', origin: 'three.test', nsec3: false });
    bind = await startBind({
      netns: topo.server.ns,
      addresses: [topo.server.v4, '127.0.0.1'],
      queryLog: true,
      zones: [
        { name: 'one.test', text: zoneText('one.test', 1, '192.0.2.1') },
        { name: 'two.test', text: zoneText('two.test', 1, '198.51.100.1') },
        { name: 'three.test', file: signed.file },
        // named signs this one itself: it serves it under a serial of its own.
        { name: 'four.test', text: zoneText('four.test', 1, '192.0.2.4'), options: 'dnssec-policy default; inline-signing yes;' },
        // www comes from a file the zone includes (relative to named's directory, the work dir).
        { name: 'five.test', text: zoneText('five.test', 1, '192.0.2.5').replace(/^www .*$/m, '$INCLUDE "five-hosts.inc"') },
      ],
      files: { 'five-hosts.inc': 'www IN A 192.0.2.5\n' },
    });
    writeSantaRunConfig(work, { topo, bind, pinDir, leaseSeconds: LEASE_S, reloadBind: true, metricsListen: '127.0.0.1:9153' });
    startSanta();
  }, 120_000);

  afterAll(async () => {
    await santa?.stop(2000);
    await bind?.stop();
    await topo?.destroy();
    rmSync(pinDir, { recursive: true, force: true });
    if (work) rmSync(work, { recursive: true, force: true });
    if (signed) rmSync(signed.dir, { recursive: true, force: true });
  });

  const santaOutput = () => santa?.output() ?? '';

  it('turns hot questions into XDP hits that BIND never sees', async () => {
    // Asked until santa has installed it (the query log makes it hot, the tick installs it).
    await waitFor('www.one.test installed', async () => {
      expect(await ask('one.test')).toBe('192.0.2.1');
      return installedNames().some((n) => n.includes('one')) || undefined;
    }, { timeoutMs: 30_000, intervalMs: 300, describe: santaOutput });
    const before = stats().HITS;
    const logged = clientQueries('one.test');
    for (let i = 0; i < 5; i++) expect(await ask('one.test')).toBe('192.0.2.1');
    expect(stats().HITS - before).toBe(5);
    expect(clientQueries('one.test')).toBe(logged);
  }, 60_000);

  it('serves DO=1 answers of a signed zone from XDP, RRSIGs included, byte for byte as BIND sends them', async () => {
    // RD=1: no authority section (minimal-responses no-auth-recursive), so the reply fits the
    // room native XDP has on veth.
    const q = { name: 'www.three.test', type: 'A' as const, rd: true, edns: { udpSize: 1232, do: true } };
    const fromClient = () => query(q, { server: topo.server.v4, netns: topo.client.ns, timeoutMs: 1500 });
    await waitFor('www.three.test DO=1 installed', async () => {
      await fromClient();
      return installedNames().some((n) => n.includes('three')) || undefined;
    }, { timeoutMs: 30_000, intervalMs: 300, describe: santaOutput });
    const before = stats().HITS;
    const logged = bind.queryLog().split('\n').filter((l) => l.includes(`${topo.client.v4}#`) && l.includes('(www.three.test)')).length;
    const fromXdp = await fromClient();
    expect(stats().HITS - before).toBe(1);
    expect(bind.queryLog().split('\n').filter((l) => l.includes(`${topo.client.v4}#`) && l.includes('(www.three.test)')).length).toBe(logged);
    expect(fromXdp.packet.answers?.map((rr) => rr.type)).toEqual(['A', 'RRSIG']);
    // BIND's own answer, asked over loopback in its namespace (XDP sits on the veth only).
    const fromBind = await query(q, { server: '127.0.0.1', netns: topo.server.ns, timeoutMs: 1500 });
    const v = verifyResponse(fromXdp.raw, fromBind.raw);
    expect(v.mismatches).toEqual([]);
    expect(v.byteIdentical).toBe(true);
  }, 60_000);

  it('serves DO=0 answers of a zone named signs itself from XDP, leaves DO=1 to BIND, and keeps serving when named re-signs', async () => {
    const q = (dnssecOk: boolean) => ({ name: 'www.four.test', type: 'A' as const, rd: true, edns: { udpSize: 1232, do: dnssecOk } });
    const fromClient = (dnssecOk: boolean) => query(q(dnssecOk), { server: topo.server.v4, netns: topo.client.ns, timeoutMs: 1500 });
    const logged = () => bind.queryLog().split('\n').filter((l) => l.includes(`${topo.client.v4}#`) && l.includes('(www.four.test)')).length;
    const servedFromXdp = async () => {
      const hits = stats().HITS;
      const before = logged();
      const answer = await fromClient(false);
      if (stats().HITS !== hits + 1) return undefined;
      expect(logged()).toBe(before);
      return answer;
    };
    const installed = async (what: string) => {
      await waitFor(what, async () => {
        await fromClient(false);
        return installedNames().some((n) => n.includes('four')) || undefined;
      }, { timeoutMs: 30_000, intervalMs: 300, describe: santaOutput });
      return waitFor(`${what}: a hit`, servedFromXdp, { timeoutMs: 10_000, intervalMs: 300, describe: santaOutput });
    };
    const soaSerial = async () => {
      const soa = await query({ name: 'four.test', type: 'SOA' }, { server: '127.0.0.1', netns: topo.server.ns, transport: 'tcp' });
      return (soa.packet.answers?.find((x) => x.type === 'SOA')?.data as { serial: number }).serial;
    };

    const fromXdp = await installed('www.four.test DO=0 installed');
    const fromBind = await query(q(false), { server: '127.0.0.1', netns: topo.server.ns, timeoutMs: 1500 });
    expect(verifyResponse(fromXdp.raw, fromBind.raw).mismatches).toEqual([]);
    expect(fromXdp.packet.answers?.map((rr) => rr.type)).toEqual(['A']);
    // DO=1 carries named's signatures: BIND answers it, every time.
    const hits = stats().HITS;
    const before = logged();
    for (let i = 0; i < 3; i++) expect((await fromClient(true)).packet.answers?.map((rr) => rr.type)).toEqual(['A', 'RRSIG']);
    expect(stats().HITS).toBe(hits);
    await waitFor('BIND logged the DO=1 queries', async () => logged() >= before + 3 || undefined, { timeoutMs: 5000, intervalMs: 100 });

    // named re-signs on its own schedule and moves its serial. The zone changes only through its
    // file, so that is a re-sign, which cannot change what Santa built: it keeps serving.
    const withdrawals = () => santaOutput().split('\n').filter((l) => l.includes('"zone":"four.test"') && l.includes('zone withdrawn')).length;
    const withdrawnBefore = withdrawals();
    const serial = await soaSerial();
    await bind.rndc('sign', 'four.test');
    await waitFor('named to move its serial', async () => (await soaSerial()) !== serial || undefined, { timeoutMs: 30_000, intervalMs: 300 });
    await sleep(2500); // two serial polls
    expect(withdrawals()).toBe(withdrawnBefore);
    const afterResign = await servedFromXdp();
    expect(afterResign).toBeDefined();
    const bindAfter = await query(q(false), { server: '127.0.0.1', netns: topo.server.ns, timeoutMs: 1500 });
    expect(verifyResponse((afterResign as { raw: Buffer }).raw, bindAfter.raw).mismatches).toEqual([]);
  }, 90_000);

  it('reloads BIND after withdrawing an edited zone, never serves the old answer after, then serves the new one from XDP', async () => {
    await waitFor('www.two.test installed', async () => {
      await ask('two.test');
      return installedNames().some((n) => n.includes('two')) || undefined;
    }, { timeoutMs: 30_000, intervalMs: 300, describe: santaOutput });
    writeFileSync(join(bind.workDir, 'zones/two.test.zone'), zoneText('two.test', 2, '198.51.100.2'));
    // Santa withdraws the zone, re-reads it and then has BIND reload it (bind.reload_command).
    let bindHasNew = false;
    const deadline = Date.now() + 30_000;
    let newFromXdp = false;
    while (Date.now() < deadline && !newFromXdp) {
      const hitsBefore = stats().HITS;
      const answer = await ask('two.test');
      const hitsAfter = stats().HITS;
      const soa = await query({ name: 'two.test', type: 'SOA' }, { server: topo.server.v4, netns: topo.client.ns, transport: 'tcp' });
      const serial = (soa.packet.answers?.find((x) => x.type === 'SOA')?.data as { serial: number }).serial;
      if (bindHasNew) expect(answer).toBe('198.51.100.2');
      if (serial === 2) bindHasNew = true;
      if (answer === '198.51.100.2' && hitsAfter > hitsBefore) newFromXdp = true;
    }
    if (!bindHasNew || !newFromXdp) throw new Error(`BIND served serial 2: ${bindHasNew}; new data from XDP: ${newFromXdp}\n${santaOutput()}`);
  }, 60_000);

  it('withdraws a zone when a file it includes is edited (its serial unchanged), and never serves the old answer once BIND has the new one', async () => {
    await waitFor('www.five.test installed', async () => {
      await ask('five.test');
      return installedNames().some((n) => n.includes('five')) || undefined;
    }, { timeoutMs: 30_000, intervalMs: 300, describe: santaOutput });
    expect(await ask('five.test')).toBe('192.0.2.5');
    writeFileSync(join(bind.workDir, 'five-hosts.inc'), 'www IN A 192.0.2.55\n');
    const address = async (transport: 'udp' | 'tcp') =>
      (await query(www('five.test'), { server: topo.server.v4, netns: topo.client.ns, transport, timeoutMs: 1500 })).packet.answers?.find((x): x is { type: 'A'; name: string; data: string } => x.type === 'A')?.data;
    // TCP passes XDP: that is BIND's own answer.
    await expectNoStaleAnswer({ udp: () => address('udp'), tcp: () => address('tcp'), hits: () => stats().HITS, fresh: '192.0.2.55', timeoutMs: 30_000, describe: santaOutput });
    expect(santaOutput()).toMatch(/"zone":"five\.test","file":"[^"]*five-hosts\.inc".*zone file changed/);
  }, 60_000);

  it('withdraws only the zone whose file breaks', async () => {
    writeFileSync(join(bind.workDir, 'zones/two.test.zone'), zoneText('two.test', 3, '198.51.100.3') + 'www IN A not-an-address\n');
    const parseError = /"zone":"two\.test","error":"[^"]*two\.test\.zone:7: [^"]*".*zone file does not parse/;
    await waitFor('two.test reported broken', async () => parseError.test(santaOutput()) || undefined, { timeoutMs: 10_000, intervalMs: 200, describe: santaOutput });
    await sleep(1500); // a control-loop round, which must not re-install it
    expect(installedNames().some((n) => n.includes('two'))).toBe(false);
    const before = stats().HITS;
    expect(await ask('one.test')).toBe('192.0.2.1');
    expect(stats().HITS).toBe(before + 1);
    expect(await ask('two.test')).toBe('198.51.100.2'); // BIND still serves its last good data
  }, 30_000);

  it('exports its hit counter to a real Prometheus', async () => {
    requireTools('Prometheus scrape', ['prometheus', 'curl']);
    const promDir = join(work, 'prometheus');
    writeFileSync(
      join(work, 'prometheus.yml'),
      ['global: { scrape_interval: 1s }', 'scrape_configs:', '  - job_name: santa', '    static_configs: [{ targets: ["127.0.0.1:9153"] }]', ''].join('\n'),
    );
    const prom = topo.spawn(topo.server, ['prometheus', `--config.file=${join(work, 'prometheus.yml')}`, `--storage.tsdb.path=${promDir}`, '--web.listen-address=127.0.0.1:9090']);
    try {
      const hitsNow = stats().HITS;
      expect(hitsNow).toBeGreaterThan(0);
      const fromPrometheus = async () => {
        const r = await topo.exec(topo.server, ['curl', '-sf', 'http://127.0.0.1:9090/api/v1/query?query=santa_cache_hits_total'], { allowFailure: true });
        if (r.code !== 0) return undefined;
        const body = JSON.parse(r.stdout) as { data: { result: { value: [number, string] }[] } };
        const v = body.data.result[0]?.value[1];
        return v === undefined ? undefined : Number(v);
      };
      const seen = await waitFor('Prometheus to scrape santa', async () => ((await fromPrometheus()) ?? 0) >= hitsNow || undefined, { timeoutMs: 30_000, intervalMs: 500, describe: () => prom.output() });
      expect(seen).toBe(true);
      expect(await fromPrometheus()).toBe(stats().HITS);
    } finally {
      await prom.stop(2000);
    }
  }, 60_000);

  it('santa status shows the counters, hit ratio and most-hit questions from the pins', async () => {
    const r = await topo.exec(topo.server, santaCommand('status', '--config', join(work, 'santa.yaml'), '--json'));
    const status = JSON.parse(r.stdout) as { loader: string; mode: string; attachments: { iface: string }[]; counters: Record<string, number>; entries: number; top: { question: string; hits: number }[] };
    // The interface, and lo with the loopback guard.
    expect(status).toMatchObject({ loader: 'native', mode: 'on', attachments: [{ iface: topo.server.ifname }, { iface: 'lo' }] });
    expect(status.counters.HITS).toBe(stats().HITS);
    expect(status.entries).toBeGreaterThan(0);
    expect(status.top[0].hits).toBeGreaterThan(0);
    expect(status.top[0].question).toMatch(/^www\.one\.test\.? A /);
  }, 30_000);

  it('lets entries lapse after SIGKILL so that BIND answers everything', async () => {
    santa?.child.kill('SIGKILL');
    await santa?.exited();
    const expiredBefore = stats().PASS_EXPIRED;
    await sleep((LEASE_S + 1) * 1000);
    const logged = clientQueries('one.test');
    expect(await ask('one.test')).toBe('192.0.2.1');
    expect(stats().PASS_EXPIRED).toBe(expiredBefore + 1);
    await waitFor('BIND logged the query', async () => clientQueries('one.test') > logged || undefined, { timeoutMs: 5000, intervalMs: 100 });
  }, 30_000);

  it('has BIND load a zone file edited while Santa was stopped, and serves it from XDP', async () => {
    // Santa is not running (killed above): an edit now is seen by nobody, and BIND keeps serial 2.
    writeFileSync(join(bind.workDir, 'zones/two.test.zone'), zoneText('two.test', 3, '198.51.100.3'));
    const serial = async () => {
      const soa = await query({ name: 'two.test', type: 'SOA' }, { server: topo.server.v4, netns: topo.client.ns, transport: 'tcp' });
      return (soa.packet.answers?.find((x) => x.type === 'SOA')?.data as { serial: number }).serial;
    };
    expect(await serial()).toBe(2);
    startSanta();
    await waitFor('BIND serves serial 3', async () => ((await serial()) === 3 ? true : undefined), { timeoutMs: 30_000, intervalMs: 300, describe: santaOutput });
    await waitFor('the new answer from XDP', async () => {
      const before = stats().HITS;
      const answer = await ask('two.test');
      expect(answer).toBe('198.51.100.3');
      return stats().HITS > before || undefined;
    }, { timeoutMs: 30_000, intervalMs: 300, describe: santaOutput });
    expect(santaOutput()).toContain('zone file is ahead of BIND');
    await santa?.stop(5000);
  }, 90_000);

  it('santa detach takes the program off the interface and the loopback guard off lo', async () => {
    const cli = santaCommand('detach', '--config', join(work, 'santa.yaml'));
    const tcOnLo = async () => (await topo.exec(topo.server, ['tc', 'filter', 'show', 'dev', 'lo', 'ingress'])).stdout;
    expect(await tcOnLo()).toContain('santa_lo_guard');
    const out = (await topo.exec(topo.server, cli)).stdout;
    expect(out).toContain(`${topo.server.ifname}: detached`);
    expect(out).toContain('lo: loopback guard detached');
    expect((await topo.exec(topo.server, ['ip', '-j', 'link', 'show', 'dev', topo.server.ifname])).stdout).not.toContain('"xdp"');
    expect(await tcOnLo()).not.toContain('santa_lo_guard');
    const again = (await topo.exec(topo.server, cli)).stdout;
    expect(again).toContain('Santa was not attached');
    expect(again).toContain('lo: no loopback guard');
  }, 30_000);
});
