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

/** Two TXT strings, 300 bytes: big's reply passes named's nocookie-udp-size of 256. */
const BIG_TEXT = ['x'.repeat(200), 'y'.repeat(100)];

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
      // nocookie-udp-size: named truncates replies over 256 bytes unless the query carries a
      // valid server cookie (www's replies are far smaller; big's TXT is not).
      extraOptions: `cookie-secret "${SECRET_HEX}"; nocookie-udp-size 256;`,
      zones: [
        {
          name: 'one.test',
          text: ['$TTL 300', '@ IN SOA ns1.one.test. h.one.test. 1 3600 600 86400 300', '@ IN NS ns1.one.test.', 'ns1 IN A 10.53.0.2', 'www IN A 192.0.2.1', `big IN TXT ${BIG_TEXT.map((t) => `"${t}"`).join(' ')}`, ''].join('\n'),
        },
      ],
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

  it("keeps named's nocookie-udp-size: a large answer comes from XDP only to a valid server cookie", async () => {
    const digBig = async (cookie: string) => {
      const r = await topo.exec(topo.client, ['dig', `@${topo.server.v4}`, 'big.one.test', 'TXT', '+tries=1', '+time=2', '+ignore', '+bufsize=1232', cookie], { allowFailure: true, timeoutMs: 10_000 });
      const out = r.stdout + r.stderr;
      const hex = /; COOKIE: ([0-9a-f]+)/.exec(out)?.[1];
      return { truncated: /flags:[^;]* tc[ ;]/.test(out), answered: BIG_TEXT.every((t) => out.includes(t)), cookie: hex ? Buffer.from(hex, 'hex') : undefined };
    };
    // A server cookie, then the big answer made hot and installed, asked with it.
    let cookie = (await dig('+cookie')).cookie!;
    await waitFor(
      'big.one.test TXT answered by XDP to a valid server cookie',
      async () => {
        const before = withMaps((m) => m.readStats().HITS);
        const r = await digBig(`+cookie=${cookie.toString('hex')}`);
        expect({ truncated: r.truncated, answered: r.answered }).toEqual({ truncated: false, answered: true });
        cookie = r.cookie ?? cookie;
        return withMaps((m) => m.readStats().HITS) > before || undefined;
      },
      { timeoutMs: 30_000, intervalMs: 300, describe: () => santa?.output() ?? '' },
    );
    const before = withMaps((m) => m.readStats());
    const noCookie = await digBig('+nocookie');
    const clientOnly = await digBig('+cookie');
    const after = withMaps((m) => m.readStats());
    // named truncated both (XDP left them to it): what it does for queries without a valid server cookie.
    expect({ noCookie: noCookie.truncated, clientOnly: clientOnly.truncated }).toEqual({ noCookie: true, clientOnly: true });
    expect({ hits: after.HITS - before.HITS, tooBig: after.PASS_TOO_BIG - before.PASS_TOO_BIG }).toEqual({ hits: 0, tooBig: 2 });
  }, 60_000);
});
