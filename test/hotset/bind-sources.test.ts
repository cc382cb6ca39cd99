/**
 * Real BIND 9.18 as the source of query-log lines and dnstap frames. One named logs the same
 * queries both ways (text query log and dnstap to Santa's Unix socket); both readers must turn
 * them into the same question keys. A second named writes a dnstap file, which must agree with
 * BIND's own reader (dnstap-read). A third rotates its query log by size while the follower
 * reads it.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { readDnstapFile } from '../../sidecar/dnstap/read-file';
import { DnstapSocketReceiver } from '../../sidecar/dnstap/socket-receiver';
import { QueryLogDecoder } from '../../sidecar/querylog/decoder';
import { QueryLogFollower } from '../../sidecar/querylog/follow-query-log';
import { KEY_DO, KEY_EDNS, KEY_RD, KEY_V6, QueryEvent } from '../../sidecar/ranking/question-key';
import { BindServer, startBind } from '../support/bind';
import { run, waitFor } from '../support/process';
import { requireTools } from '../support/require-root';

const ZONE = `$TTL 300
@ IN SOA ns1.example.test. hostmaster.example.test. 1 3600 600 86400 300
@ IN NS ns1.example.test.
ns1 IN A 127.0.0.1
www IN A 192.0.2.1
www IN AAAA 2001:db8::1
www IN TXT "hello"
`;

/** dig batch lines (dig -f): one query each, with the key each must produce. */
const QUERIES: ReadonlyArray<{ dig: string; name: string; qtype: number; flags: number; tcp?: boolean; cd?: boolean }> = [
  { dig: 'www.example.test A', name: 'www.example.test', qtype: 1, flags: KEY_RD | KEY_EDNS },
  { dig: 'WWW.Example.TEST TXT +norec', name: 'www.example.test', qtype: 16, flags: KEY_EDNS },
  { dig: 'www.example.test AAAA +dnssec', name: 'www.example.test', qtype: 28, flags: KEY_RD | KEY_EDNS | KEY_DO },
  { dig: 'www.example.test A +noedns +norec', name: 'www.example.test', qtype: 1, flags: 0 },
  { dig: 'www.example.test TYPE123 +cdflag', name: 'www.example.test', qtype: 123, flags: KEY_RD | KEY_EDNS, cd: true },
  { dig: 'a\\$b\\@c\\(d\\).example.test A', name: 'a\\$b\\@c\\(d\\).example.test', qtype: 1, flags: KEY_RD | KEY_EDNS },
  { dig: 'sp\\032ace\\255.example.test MX +norec', name: 'sp\\032ace\\255.example.test', qtype: 15, flags: KEY_EDNS },
  { dig: 'nothere.example.test A +subnet=198.51.100.0/24', name: 'nothere.example.test', qtype: 1, flags: KEY_RD | KEY_EDNS },
];

function comparable(e: QueryEvent): string {
  return [e.name, e.qtype, e.qclass, e.flags, e.tcp, e.cd, e.client, e.clientPort].join(' ');
}

/** dig applies +tcp only from its own command line, not from batch lines. */
async function digBatch(bind: BindServer, dir: string, lines: readonly string[], server = '127.0.0.1', global: string[] = []): Promise<void> {
  const batch = join(dir, `batch-${Date.now()}-${Math.random().toString(36).slice(2)}`);
  writeFileSync(batch, lines.join('\n') + '\n');
  await run(['dig', `@${server}`, '-p', String(bind.port), '+tries=1', '+time=2', '+short', ...global, '-f', batch], { timeoutMs: 60_000 });
}

describe('query log and dnstap from a real BIND', () => {
  let dir: string;
  const cleanups: Array<() => Promise<void>> = [];
  beforeAll(() => {
    requireTools('BIND query-log and dnstap tests', ['named', 'dig', 'dnstap-read']);
    dir = mkdtempSync(join(tmpdir(), 'santa-hotset-'));
  });
  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('turns the same queries into the same keys from the text log and from the dnstap socket', async () => {
    const fromDnstap: QueryEvent[] = [];
    const errors: Error[] = [];
    const receiver = new DnstapSocketReceiver(join(dir, 'dnstap.sock'), (e) => fromDnstap.push(e), { onError: (e) => errors.push(e) });
    await receiver.listen();
    cleanups.push(() => receiver.close());
    const bind = await startBind({
      zones: [{ name: 'example.test', text: ZONE }],
      addresses: ['127.0.0.1', '::1'],
      queryLog: true,
      dnstap: { output: 'unix', path: receiver.socketPath, types: 'client query; auth query;' },
    });
    cleanups.push(() => bind.stop());

    await digBatch(bind, dir, QUERIES.map((q) => q.dig));
    await digBatch(bind, dir, ['www.example.test A'], '::1');
    await digBatch(bind, dir, ['tcp.example.test A'], '127.0.0.1', ['+tcp']);
    const expected = QUERIES.length + 3; // + IPv6, TCP, and the runner's readiness probe
    await waitFor('every query to arrive over dnstap', () => (fromDnstap.length >= expected ? true : undefined), {
      timeoutMs: 15_000,
      describe: () => `dnstap events: ${fromDnstap.length}, stats ${JSON.stringify(receiver.stats)}, errors ${errors.join('; ')}`,
    });
    const fromLog: QueryEvent[] = [];
    await waitFor('every query in the query log', () => {
      fromLog.length = 0;
      const decoder = new QueryLogDecoder(bind.queryLogPath, (e) => fromLog.push(e));
      decoder.push(Buffer.from(bind.queryLog()));
      decoder.endOfFile();
      expect(decoder.stats.unreadable.count).toBe(0);
      return fromLog.length >= expected ? true : undefined;
    }, { timeoutMs: 10_000 });

    expect(errors).toEqual([]);
    expect(receiver.connectionsAccepted).toBeGreaterThanOrEqual(1);
    expect(receiver.stats.unreadable.count).toBe(0);
    expect(fromDnstap.map(comparable).sort()).toEqual(fromLog.map(comparable).sort());
    for (const q of QUERIES) {
      const match = fromDnstap.find(
        (e) => e.name === q.name && e.qtype === q.qtype && e.flags === q.flags && e.tcp === (q.tcp ?? false) && e.cd === (q.cd ?? false),
      );
      expect({ dig: q.dig, match }).toMatchObject({ dig: q.dig, match: { qclass: 1, client: '127.0.0.1' } });
    }
    expect(fromDnstap.find((e) => e.name === 'tcp.example.test')).toMatchObject({ tcp: true, flags: KEY_RD | KEY_EDNS });
    expect(fromDnstap.find((e) => e.client === '::1')).toMatchObject({ name: 'www.example.test', qtype: 1, destination: '::1', flags: KEY_RD | KEY_EDNS | KEY_V6 });
    expect(fromLog.find((e) => e.ecs !== undefined)?.ecs).toBe('198.51.100.0/24/0');
  });

  it('reads the dnstap file BIND writes, in agreement with dnstap-read', async () => {
    const file = join(dir, 'bind.dnstap');
    const bind = await startBind({
      zones: [{ name: 'example.test', text: ZONE }],
      dnstap: { output: 'file', path: file, types: 'client query; auth query;' },
    });
    cleanups.push(() => bind.stop());
    const names = Array.from({ length: 200 }, (_, i) => `h${i}.example.test A${i % 2 ? ' +norec' : ''}`);
    await digBatch(bind, dir, names);
    await bind.stop(); // named writes the STOP frame and flushes on shutdown

    const events: QueryEvent[] = [];
    const stats = await readDnstapFile(file, (e) => events.push(e));
    expect(stats.unreadable.count).toBe(0);
    const hosts = events.filter((e) => /^h\d+\.example\.test$/.test(e.name));
    expect(hosts.map((e) => e.name).sort()).toEqual(names.map((n) => n.split(' ')[0]).sort());
    expect(hosts.filter((e) => e.flags & KEY_RD).length).toBe(100);

    const reference = await run(['dnstap-read', file], { timeoutMs: 30_000 });
    const referenceQueries = reference.stdout.split('\n').filter((l) => /\b[AC]Q\b/.test(l));
    expect(referenceQueries.length).toBe(events.length);
    for (const e of hosts.slice(0, 20)) expect(reference.stdout).toContain(`${e.name}/IN/A`);
  });

  it('follows a query log that BIND itself rotates by size, losing and repeating nothing', async () => {
    const logPath = join(dir, 'rotating.log');
    const conf = `@CONTROLS@
options {
\tdirectory "@WORKDIR@";
\tpid-file "@WORKDIR@/named.pid";
\tlisten-on port @PORT@ { 127.0.0.1; };
\tlisten-on-v6 { none; };
\trecursion no;
\tquerylog yes;
};
logging {
\tchannel santa_general { file "@WORKDIR@/named.log"; print-time yes; severity info; };
\tchannel rotating { file "${logPath}" versions 20 size 16k; print-time yes; };
\tcategory default { santa_general; };
\tcategory queries { rotating; };
};
zone "example.test" { type primary; file "@WORKDIR@/example.test.zone"; };
`;
    // versions 20: enough kept files that a follower starved by a loaded machine still finds
    // every rotated file; with fewer, BIND deletes the oldest before it can be read.
    const seen = new Map<string, number>();
    const follower = new QueryLogFollower(logPath, (e) => seen.set(e.name, (seen.get(e.name) ?? 0) + 1), { pollMs: 20, fromStart: true });
    await follower.start();
    cleanups.push(() => follower.stop());
    const bind = await startBind({ namedConfText: conf, files: { 'example.test.zone': ZONE }, probeZone: 'example.test' });
    cleanups.push(() => bind.stop());

    const total = 1200; // ~150 bytes a line: about ten rotations of 16 KiB
    await digBatch(bind, dir, Array.from({ length: total }, (_, i) => `r${i}.example.test A`));
    // What BIND wrote is the reference, read from every file it kept (versions 20: none is
    // deleted). It is not always all 1200: dig, with one try, now and then gets a stray
    // non-response (";; Warning: query response not set") and gives that query up before BIND
    // sees it, so BIND never logs it.
    const logged = new Map<string, number>();
    for (const f of readdirSync(dir).filter((n) => n.startsWith('rotating.log'))) {
      for (const m of readFileSync(join(dir, f), 'utf8').matchAll(/ query: (r\d+\.example\.test) /g)) logged.set(m[1], (logged.get(m[1]) ?? 0) + 1);
    }
    expect(logged.size).toBeGreaterThan(total - 10);
    const isOurs = (name: string) => /^r\d+\.example\.test$/.test(name);
    const ours = () => new Map([...seen].filter(([n]) => isOurs(n)));
    await waitFor('every logged line through the follower', () => (ours().size >= logged.size ? true : undefined), {
      timeoutMs: 20_000,
      describe: () => `seen ${ours().size} of the ${logged.size} names BIND logged; stats ${JSON.stringify(follower.stats)}`,
    });
    await follower.stop();
    expect(readdirSync(dir).filter((n) => n.startsWith('rotating.log')).length).toBeGreaterThan(1); // BIND did rotate
    // Every line BIND wrote, read exactly as often as it was written.
    expect(ours()).toEqual(logged);
    expect(follower.stats.unreadable.count).toBe(0);
  });
});
