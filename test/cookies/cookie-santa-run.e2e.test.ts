/**
 * `santa run` with a named.conf that sets `cookie-secret`: the sidecar reads the secret and
 * writes it, with the wall-clock offset, into the program's settings; a resolver's usual
 * `dig +cookie` queries then hit in XDP once hot, with cookies BIND accepts. Real BIND and the
 * sidecar in the server namespace, dig in the client namespace, native loader, generic XDP.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SantaMaps } from '../../sidecar/bpf/maps';
import { checkServerCookie } from '../../sidecar/cookies';
import { createTopology, type Topology } from '../support/netns';
import { startBind, type BindServer } from '../support/bind';
import { requireRoot, requireTools } from '../support/require-root';
import { waitFor, type Background } from '../support/process';
import { spawnSantaRun, tearDownSantaRun, writeSantaRunConfig } from '../support/santa-run';

const SECRET_HEX = '8899aabbccddeeff0011223344556677';

describe('santa run answers cookie queries with BIND\'s cookie-secret', () => {
  let topo: Topology;
  let bind: BindServer;
  let santa: Background | undefined;
  let work: string;
  let pinDir: string;

  const withMaps = <T>(f: (m: SantaMaps) => T): T => {
    const maps = SantaMaps.openPinned(pinDir);
    try {
      return f(maps);
    } finally {
      maps.close();
    }
  };
  const dig = async (cookie: string) => {
    const r = await topo.exec(topo.client, ['dig', `@${topo.server.v4}`, 'www.one.test', 'A', '+tries=1', '+time=2', '+nobadcookie', cookie], { allowFailure: true, timeoutMs: 10_000 });
    const out = r.stdout + r.stderr;
    const hex = /; COOKIE: ([0-9a-f]+)/.exec(out)?.[1];
    return { status: /status: ([A-Z]+)/.exec(out)?.[1], answer: /www\.one\.test\.\s+\d+\s+IN\s+A\s+(\S+)/.exec(out)?.[1], cookie: hex ? Buffer.from(hex, 'hex') : undefined, out };
  };

  beforeAll(async () => {
    requireRoot('santa run with cookies');
    requireTools('santa run with cookies', ['named', 'dig', 'nsenter']);
    topo = await createTopology();
    work = mkdtempSync(join(tmpdir(), 'santa-cookie-run-'));
    pinDir = `/sys/fs/bpf/santa-cookie-test-${process.pid}`;
    bind = await startBind({
      netns: topo.server.ns,
      addresses: [topo.server.v4, '127.0.0.1'],
      queryLog: true,
      extraOptions: `cookie-secret "${SECRET_HEX}";`,
      zones: [{ name: 'one.test', text: ['$TTL 300', '@ IN SOA ns1.one.test. h.one.test. 1 3600 600 86400 300', '@ IN NS ns1.one.test.', 'ns1 IN A 10.53.0.2', 'www IN A 192.0.2.1', ''].join('\n') }],
    });
    const config = writeSantaRunConfig(work, { topo, bind, pinDir, leaseSeconds: 30, reloadBind: true });
    santa = spawnSantaRun(topo, config);
  }, 120_000);

  afterAll(() => tearDownSantaRun({ santa, bind, topo, pinDir, work }));

  it('writes the secret from named.conf and answers dig +cookie from XDP', async () => {
    // Asked (by BIND at first) until santa has made it hot and installed it.
    let cookie: Buffer | undefined;
    await waitFor(
      'a cookie query answered by XDP',
      async () => {
        const before = withMaps((m) => m.readStats().HITS);
        const r = await dig(cookie ? `+cookie=${cookie.toString('hex')}` : '+cookie');
        expect({ status: r.status, answer: r.answer }).toEqual({ status: 'NOERROR', answer: '192.0.2.1' });
        cookie = r.cookie;
        return withMaps((m) => m.readStats().HITS) > before || undefined;
      },
      { timeoutMs: 30_000, intervalMs: 300, describe: () => santa?.output() ?? '' },
    );
    const settings = withMaps((m) => m.readSettings());
    expect(Buffer.from(settings.cookie!.secret).toString('hex')).toBe(SECRET_HEX);
    expect(checkServerCookie(Buffer.from(SECRET_HEX, 'hex'), cookie!.subarray(0, 8), cookie!.subarray(8), topo.client.v4, Math.floor(Date.now() / 1000))).toBe('valid');

    // From here on, a resolver that keeps its cookie is answered by XDP every time.
    const before = withMaps((m) => m.readStats());
    for (let i = 0; i < 5; i++) {
      const r = await dig(`+cookie=${cookie!.toString('hex')}`);
      expect({ status: r.status, answer: r.answer }).toEqual({ status: 'NOERROR', answer: '192.0.2.1' });
      cookie = r.cookie;
    }
    const after = withMaps((m) => m.readStats());
    expect({ hits: after.HITS - before.HITS, bad: after.PASS_BAD_COOKIE - before.PASS_BAD_COOKIE }).toEqual({ hits: 5, bad: 0 });
  }, 60_000);
});
