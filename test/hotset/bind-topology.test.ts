/**
 * Query log and dnstap from BIND in the end-to-end topology (server and client namespaces on a
 * veth pair, 10.53.0.0/24 and fd53::/64): the lines are exactly the shape the issue documents,
 * and both readers report the same clients and server addresses for IPv4 and IPv6.
 */
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { DnstapSocketReceiver } from '../../sidecar/dnstap/socket-receiver';
import { QueryLogDecoder } from '../../sidecar/querylog/decoder';
import { KEY_EDNS, KEY_RD, KEY_V6, QueryEvent } from '../../sidecar/ranking/question-key';
import { BindServer, startBind } from '../support/bind';
import { CLIENT_V4, CLIENT_V6, SERVER_V4, SERVER_V6, Topology, createTopology } from '../support/netns';
import { waitFor } from '../support/process';
import { requireRoot, requireTools } from '../support/require-root';

const ZONE = '$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 86400 300\n@ NS ns1\nns1 A 10.53.0.2\nwww A 192.0.2.1\nwww TXT "hi"\n';

describe('BIND in the end-to-end topology', () => {
  let topo: Topology | undefined;
  let bind: BindServer | undefined;
  let receiver: DnstapSocketReceiver | undefined;
  let dir: string;
  const fromDnstap: QueryEvent[] = [];

  beforeAll(async () => {
    requireRoot('hot-set topology test');
    requireTools('hot-set topology test', ['named', 'dig']);
    dir = mkdtempSync(join(tmpdir(), 'santa-hotset-topo-'));
    // A pathname Unix socket is found through the file system, so named in the server
    // namespace reaches a receiver listening in ours.
    receiver = new DnstapSocketReceiver(join(dir, 'tap.sock'), (e) => fromDnstap.push(e));
    await receiver.listen();
    topo = await createTopology();
    bind = await startBind({
      netns: topo.server.ns,
      addresses: [SERVER_V4, SERVER_V6],
      zones: [{ name: 'example.test', text: ZONE }],
      queryLog: true,
      dnstap: { output: 'unix', path: receiver.socketPath, types: 'client query; auth query;' },
    });
  });

  afterAll(async () => {
    await bind?.stop().catch(() => undefined);
    await topo?.destroy();
    await receiver?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('logs the documented line shape and both readers agree on every query', async () => {
    const dig = (server: string, ...args: string[]) =>
      topo!.exec(topo!.client, ['dig', `@${server}`, '+tries=1', '+time=2', '+short', ...args]);
    await dig(SERVER_V4, 'www.example.test', 'TXT');
    await dig(SERVER_V4, 'www.example.test', 'A');
    await dig(SERVER_V6, 'www.example.test', 'A', '+norec');

    const lines = () => bind!.queryLog().split('\n').filter((l) => l.includes(' query: '));
    await waitFor('three client queries in the query log', () => (lines().filter((l) => l.includes(CLIENT_V4) || l.includes(CLIENT_V6)).length >= 3 ? true : undefined), { timeoutMs: 10_000 });
    await waitFor('the same queries over dnstap', () => (fromDnstap.filter((e) => e.client === CLIENT_V4 || e.client === CLIENT_V6).length >= 3 ? true : undefined), {
      timeoutMs: 15_000,
      describe: () => JSON.stringify(receiver!.stats),
    });

    const txt = lines().find((l) => / IN TXT /.test(l))!;
    expect(txt).toMatch(/^\d\d-[A-Z][a-z]{2}-\d{4} \d\d:\d\d:\d\d\.\d{3} client @0x[0-9a-f]+ 10\.53\.0\.1#\d+ \(www\.example\.test\): query: www\.example\.test IN TXT \+E\(0\)K \(10\.53\.0\.2\)$/);

    const fromLog: QueryEvent[] = [];
    const decoder = new QueryLogDecoder(bind!.queryLogPath, (e) => fromLog.push(e));
    decoder.push(Buffer.from(lines().join('\n') + '\n'));
    decoder.endOfFile();
    expect(decoder.stats.unreadable.count).toBe(0);

    const fromClients = (events: QueryEvent[]) =>
      events
        .filter((e) => e.client === CLIENT_V4 || e.client === CLIENT_V6)
        .map((e) => [e.name, e.qtype, e.flags, e.client, e.clientPort, e.destination].join(' '))
        .sort();
    expect(fromClients(fromDnstap)).toEqual(fromClients(fromLog));
    expect(fromClients(fromLog)).toEqual([ // sorted: "1 10 fd53" < "1 3 10.53" < "16 3"
      expect.stringMatching(new RegExp(`^www\\.example\\.test 1 ${KEY_EDNS | KEY_V6} fd53::1 \\d+ fd53::2$`)),
      expect.stringMatching(new RegExp(`^www\\.example\\.test 1 ${KEY_RD | KEY_EDNS} 10\\.53\\.0\\.1 \\d+ 10\\.53\\.0\\.2$`)),
      expect.stringMatching(new RegExp(`^www\\.example\\.test 16 ${KEY_RD | KEY_EDNS} 10\\.53\\.0\\.1 \\d+ 10\\.53\\.0\\.2$`)),
    ]);
  });
});
