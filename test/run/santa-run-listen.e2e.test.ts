/**
 * The addresses named listens on follow the host's (named.conf lists a prefix, and named's
 * automatic-interface-scan binds to new addresses as they appear), and so must the program: it
 * answers only for addresses named listens on. `santa run` beside a real named in the server
 * namespace, queries from the client namespace; an address is added to the server's veth, then
 * removed. Once removed, the kernel refuses queries to it; the program must not answer them.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTopology, type Topology } from '../support/netns';
import { startBind, type BindServer } from '../support/bind';
import { wwwZone } from '../support/zones';
import { type QuestionSpec } from '../support/dns-client';
import { servedBy } from '../support/served';
import { requireRoot, requireTools } from '../support/require-root';
import { run, waitFor, type Background } from '../support/process';
import { spawnSantaRun, tearDownSantaRun, writeSantaRunConfig } from '../support/santa-run';

const ADDED = '10.53.0.3';

describe('santa run: the program answers for the addresses named listens on as they come and go', () => {
  let topo: Topology;
  let bind: BindServer;
  let santa: Background | undefined;
  let work: string;
  let pinDir: string;

  const santaOutput = () => santa?.output() ?? '';
  const www: QuestionSpec = { name: 'www.example.test', type: 'A', rd: true, edns: { udpSize: 1232 } };
  const { stats, answerOf } = servedBy({ topo: () => topo, pinDir: () => pinDir, output: santaOutput });
  const hits = () => stats().HITS;
  /** The client asks `server` once: the answer's address and whether XDP sent it. */
  const ask = (server: string) => answerOf(www, { server, timeoutMs: 1000, retries: 0 });
  const untilFromXdp = (server: string, what: string) =>
    waitFor(what, async () => {
      const a = await ask(server);
      return a.fromXdp ? a : undefined;
    }, { timeoutMs: 30_000, intervalMs: 300, describe: santaOutput });

  beforeAll(async () => {
    requireRoot('santa run end to end (listen-on)');
    requireTools('santa run end to end (listen-on)', ['named', 'nsenter', 'ip']);
    topo = await createTopology();
    work = mkdtempSync(join(tmpdir(), 'santa-listen-'));
    pinDir = `/sys/fs/bpf/santa-test-listen-${process.pid}`;
    bind = await startBind({
      netns: topo.server.ns,
      addresses: [topo.server.v4, '127.0.0.1'],
      queryLog: true,
      // A second listen-on, a prefix: named binds to each address of the host inside it.
      extraOptions: 'listen-on { 10.53.0.0/24; };',
      zones: [{ name: 'example.test', text: wwwZone('example.test', 1, '192.0.2.1') }],
    });
    writeSantaRunConfig(work, { topo, bind, pinDir, leaseSeconds: 30 });
    santa = spawnSantaRun(topo, join(work, 'santa.yaml'));
  }, 120_000);

  afterAll(async () => {
    await tearDownSantaRun({ santa, bind, topo, pinDir, work });
  });

  it('an address added to the host is answered from XDP once named listens on it; once removed, not at all', async () => {
    expect((await untilFromXdp(topo.server.v4, 'www.example.test from XDP at the first address')).answer).toBe('192.0.2.1');
    await run(['ip', '-n', topo.server.ns, 'addr', 'add', `${ADDED}/24`, 'dev', topo.server.ifname]);
    expect((await untilFromXdp(ADDED, `www.example.test from XDP at ${ADDED}`)).answer).toBe('192.0.2.1');
    expect(santaOutput()).toContain('the addresses named listens on changed');

    await run(['ip', '-n', topo.server.ns, 'addr', 'del', `${ADDED}/24`, 'dev', topo.server.ifname]);
    // The kernel drops what is sent to an address the host no longer has; so must the program.
    await waitFor('no answer at the removed address', async () => {
      try {
        await ask(ADDED);
        return undefined;
      } catch {
        return true;
      }
    }, { timeoutMs: 10_000, intervalMs: 200, describe: santaOutput });
    const before = hits();
    for (let i = 0; i < 3; i++) await expect(ask(ADDED)).rejects.toThrow(/no answer/);
    expect(hits()).toBe(before);
    expect((await ask(topo.server.v4)).fromXdp).toBe(true);
  }, 120_000);
});
