/**
 * The shared test infrastructure, checked against the real things it drives: namespaces and a
 * veth pair, BIND started in them and on loopback, the DNS client over UDP and TCP, IPv4 and
 * IPv6, and cleanup (namespaces, processes, stale leftovers).
 */
import { existsSync, readFileSync, writeFileSync } from 'fs';
import { join } from 'path';
import * as dnsPacket from 'dns-packet';
import { removeStaleServers, startBind, BindServer } from '../support/bind';
import { query, queryMany, buildQuery } from '../support/dns-client';
import { createTopology, namespaceExists, removeStaleNamespaces, Topology, NS_PREFIX } from '../support/netns';
import { pidAlive, run, waitFor } from '../support/process';
import { requireRoot } from '../support/require-root';

const ZONE = `$TTL 300
@       IN SOA ns1 hostmaster 2026112701 3600 600 86400 300
@       IN NS  ns1
ns1     IN A   10.53.0.2
www     IN A   192.0.2.80
www     IN AAAA 2001:db8::80
`;

beforeAll(() => requireRoot('test infrastructure'));

const dataOf = (rrs: dnsPacket.Answer[] | undefined) => rrs?.map((r) => (r as { data?: unknown }).data);

describe('BIND on loopback', () => {
  let bind: BindServer;
  beforeAll(async () => {
    bind = await startBind({ zones: [{ name: 'example.test', text: ZONE }], queryLog: true });
  });
  afterAll(async () => {
    await bind?.stop();
  });

  it('answers over UDP and TCP with the zone data and logs the queries', async () => {
    for (const transport of ['udp', 'tcp'] as const) {
      const a = await query({ name: 'WwW.ExAmPlE.TeSt', type: 'A' }, { server: '127.0.0.1', port: bind.port, transport });
      expect(a.rcode).toBe('NOERROR');
      expect(a.packet.flag_aa).toBe(true);
      expect(dataOf(a.packet.answers)).toEqual(['192.0.2.80']);
      // BIND echoes the question exactly as asked.
      expect(a.raw.subarray(12, 12 + a.query.length - 16)).toEqual(a.query.subarray(12, a.query.length - 4));
    }
    const log = bind.queryLog();
    expect(log).toMatch(/query: WwW\.ExAmPlE\.TeSt IN A -E?\(?0?\)?/);
  });

  it('controls the server through rndc', async () => {
    expect(await bind.rndc('status')).toMatch(/server is up and running/);
  });

  it('keeps the exact query bytes and decodes the answer', async () => {
    const wire = buildQuery({ name: 'nope.example.test', type: 'A', id: 4242, rd: true, edns: { udpSize: 1400, do: true } });
    const a = await query(wire, { server: '127.0.0.1', port: bind.port });
    expect(a.query).toBe(wire);
    expect(a.packet.id).toBe(4242);
    expect(a.rcode).toBe('NXDOMAIN');
    expect(a.packet.flag_rd).toBe(true);
    expect(a.packet.additionals?.some((r) => r.type === 'OPT')).toBe(true);
  });

  it('asks for types dns-packet has no mnemonic for by their code', async () => {
    const a = await query({ name: 'www.example.test', type: 61 }, { server: '127.0.0.1', port: bind.port });
    expect(a.rcode).toBe('NOERROR');
    expect(a.packet.answers).toEqual([]);
    expect(a.raw.readUInt16BE(a.query.length - 4)).toBe(61); // the echoed question's QTYPE
  });

  it('reports a refused query with where it went', async () => {
    await expect(
      query({ name: 'www.example.test' }, { server: '127.0.0.1', port: 9, timeoutMs: 200, retries: 1 }),
    ).rejects.toThrow(/127\.0\.0\.1:9\/udp for www\.example\.test IN A id=\d+: .*ECONNREFUSED/);
  });
});

describe('BIND from a complete named.conf', () => {
  it('fills in the placeholders and serves what the text says', async () => {
    const bind = await startBind({
      namedConfText:
        '@CONTROLS@\n' +
        'options {\n\tdirectory "@WORKDIR@";\n\tpid-file "@WORKDIR@/named.pid";\n' +
        '\tlisten-on port @PORT@ { 127.0.0.1; };\n\tlisten-on-v6 { none; };\n\trecursion no;\n\tquerylog yes;\n};\n' +
        '@LOGGING@\n' +
        'zone "example.test" { type primary; file "zones/example.test.zone"; };\n',
      files: { 'zones/example.test.zone': ZONE },
      probeZone: 'example.test',
    });
    try {
      expect(readFileSync(bind.confPath, 'utf8')).not.toMatch(/@[A-Z_]+@/);
      expect(await bind.rndc('status')).toMatch(/server is up and running/);
      const a = await query({ name: 'www.example.test', type: 'AAAA' }, { server: '127.0.0.1', port: bind.port });
      expect(dataOf(a.packet.answers)).toEqual(['2001:db8::80']);
      expect(bind.queryLog()).toContain('query: www.example.test IN AAAA');
    } finally {
      await bind.stop();
    }
  });
});

describe('BIND start-up failures', () => {
  it('names the problem when named.conf is invalid', async () => {
    await expect(startBind({ zones: [{ name: 'example.test', text: ZONE }], extraOptions: 'no-such-option yes;' })).rejects.toThrow(
      /named-checkconf rejects[\s\S]*no-such-option/,
    );
  });

  it('shows named.log when a zone does not load', async () => {
    await expect(
      startBind({ zones: [{ name: 'broken.test', text: '$TTL 300\n@ IN SOA ns1 hm 1 2 3 4 5\nwww IN A not-an-address\n' }], startTimeoutMs: 5_000 }),
    ).rejects.toThrow(/broken\.test[\s\S]*not-an-address|bad dotted quad/);
  });
});

describe('namespaces', () => {
  let topo: Topology;
  let bind: BindServer;
  beforeAll(async () => {
    topo = await createTopology();
    bind = await startBind({
      netns: topo.server.ns,
      addresses: [topo.server.v4, topo.server.v6],
      zones: [{ name: 'example.test', text: ZONE }],
      queryLog: true,
    });
  });
  afterAll(async () => {
    await bind?.stop();
    await topo?.destroy();
  });

  it('joins a client and a server namespace with the documented addresses', async () => {
    expect(topo.client.ns.startsWith(`${NS_PREFIX}${process.pid}-`)).toBe(true);
    const { stdout } = await topo.exec(topo.server, ['ip', '-j', 'addr', 'show', 'dev', topo.server.ifname]);
    const addrs = (JSON.parse(stdout) as Array<{ addr_info: Array<{ local: string; prefixlen: number }> }>)[0].addr_info.map(
      (a) => `${a.local}/${a.prefixlen}`,
    );
    expect(addrs).toEqual(expect.arrayContaining(['10.53.0.2/24', 'fd53::2/64']));
    // nsenter keeps the host's /sys, so tools that need bpffs work inside the namespace.
    const mounts = await topo.exec(topo.client, ['cat', '/proc/self/mountinfo']);
    expect(mounts.stdout).toMatch(/ \/sys\/fs\/bpf .* - bpf /);
  });

  it('queries BIND across the veth pair over IPv4 and IPv6, UDP and TCP', async () => {
    for (const server of [topo.server.v4, topo.server.v6]) {
      for (const transport of ['udp', 'tcp'] as const) {
        const [a, b] = await queryMany(
          [
            { name: 'www.example.test', type: 'AAAA' },
            { name: 'missing.example.test', type: 'A' },
          ],
          { server, transport, netns: topo.client.ns },
        );
        expect(a.error).toBeUndefined();
        expect(dataOf(a.answer!.packet.answers)).toEqual(['2001:db8::80']);
        expect(b.answer!.rcode).toBe('NXDOMAIN');
      }
    }
    expect(bind.queryLog()).toMatch(/fd53::1#\d+ \(www\.example\.test\): query: www\.example\.test IN AAAA -T? \(fd53::2\)/);
    // dig from the client namespace sees the same server.
    const dig = await topo.exec(topo.client, ['dig', '+short', '+norec', `@${topo.server.v4}`, 'www.example.test', 'A']);
    expect(dig.stdout.trim()).toBe('192.0.2.80');
  });

  it('reports each unanswered query of a batch with where it went', async () => {
    const [bad, good] = await queryMany(
      [{ name: 'www.example.test' }, { name: 'www.example.test' }].map((q, i) => buildQuery({ ...q, id: i + 1 })),
      { server: '10.53.0.99', netns: topo.client.ns, timeoutMs: 200, retries: 0 },
    );
    expect(bad.error).toMatch(/no answer from 10\.53\.0\.99:53\/udp .*from namespace/);
    expect(good.error).toMatch(/no answer from 10\.53\.0\.99:53\/udp .*id=2/);
  });
});

describe('cleanup', () => {
  it('destroy() kills what runs inside and removes both namespaces', async () => {
    const topo = await createTopology();
    const bind = await startBind({ netns: topo.server.ns, addresses: [topo.server.v4], zones: [{ name: 'example.test', text: ZONE }] });
    const workDir = bind.workDir;
    try {
      expect(pidAlive(bind.pid)).toBe(true);
    } finally {
      await topo.destroy();
    }
    expect(pidAlive(bind.pid)).toBe(false);
    expect(namespaceExists(topo.client.ns)).toBe(false);
    expect(namespaceExists(topo.server.ns)).toBe(false);
    await topo.destroy(); // idempotent
    await bind.stop();
    expect(existsSync(workDir)).toBe(false);
  });

  it('stops a BIND whose test process died, and only that one', async () => {
    const orphan = await startBind({ zones: [{ name: 'example.test', text: ZONE }] });
    const mine = await startBind({ zones: [{ name: 'example.test', text: ZONE }] });
    try {
      const pidMax = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8'));
      writeFileSync(join(orphan.workDir, 'owner.pid'), `${pidMax + 1}\n`);
      expect(removeStaleServers()).toContain(orphan.workDir);
      await waitFor('the orphaned named to exit', () => (pidAlive(orphan.pid) ? undefined : true), { timeoutMs: 5_000 });
      expect(existsSync(orphan.workDir)).toBe(false);
      expect(pidAlive(mine.pid)).toBe(true);
    } finally {
      await orphan.stop();
      await mine.stop();
    }
  });

  it('sweeps namespaces left by a dead test run', async () => {
    // A pid that cannot be alive: above the kernel's pid_max.
    const pidMax = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8'));
    const stale = `${NS_PREFIX}${pidMax + 1}-1-c`;
    await run(['ip', 'netns', 'add', stale]);
    try {
      expect(await removeStaleNamespaces()).toContain(stale);
      expect(namespaceExists(stale)).toBe(false);
    } finally {
      await run(['ip', 'netns', 'del', stale], { allowFailure: true });
    }
  });
});
