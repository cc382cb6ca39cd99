/**
 * Cookie interoperability with the real BIND 9, both ways, on a veth pair in network namespaces
 * (santa_xdp on the server end, native and generic mode; BIND behind it in the server namespace).
 *
 * BIND runs with `require-server-cookie yes`, so it answers BADCOOKIE over UDP to any query
 * without a server cookie it accepts: its answer status is the proof of validity.
 *   - XDP -> BIND: `dig +cookie` with only a client cookie for a cached name passes to BIND,
 *     which says BADCOOKIE (as it must under require-server-cookie); with that server cookie
 *     the query is answered by XDP (hit counter moves) with a cookie XDP minted; that cookie
 *     is sent to BIND for a name XDP does not hold, and BIND answers NOERROR (a tampered copy
 *     gets BADCOOKIE, so BIND really checks).
 *   - BIND -> XDP: a cookie BIND minted is sent with a query for the cached name: XDP answers it
 *     (a hit, not PASS_BAD_COOKIE); a tampered copy passes to BIND, which says BADCOOKIE.
 *   - The whole reply: XDP's answer to a cookie query equals BIND's answer (over TCP, which XDP
 *     does not see) to the same bytes, but for the cookie's timestamp and hash when the two
 *     were minted in different seconds.
 * The secret comes from BIND's own named.conf, read by the sidecar's parser and cookie module.
 */
import { requireRoot, requireTools } from '../support/require-root';
import { startBind, BindServer } from '../support/bind';
import { startVethSanta, VethSanta } from '../xdp/veth';
import { readNamedConf } from '../../sidecar/named-conf/read';
import { buildQuery, query } from '../support/dns-client';
import { chooseCookieSecret, checkServerCookie, cookieOption, serverCookie, wallClockOffsetNs } from '../../sidecar/cookies';

jest.setTimeout(120_000);

const SECRET_HEX = '5a3c9e0f1b2d4c6e8091a2b3c4d5e6f7';
const ZONE = 'example.test';
const CACHED = `www.${ZONE}`;
const UNCACHED = `other.${ZONE}`;
const ZONE_TEXT = [
  '$TTL 300',
  `@ IN SOA ns1.${ZONE}. hostmaster.${ZONE}. 1 3600 900 604800 300`,
  `@ IN NS ns1.${ZONE}.`,
  'ns1 IN A 192.0.2.53',
  'www IN A 192.0.2.80',
  'other IN A 192.0.2.81',
  '',
].join('\n');

interface DigCookie {
  status: string;
  answer: string[];
  /** The COOKIE option dig printed: client cookie (8 bytes) then server cookie. */
  cookie?: Buffer;
  output: string;
}

beforeAll(() => {
  requireRoot('cookie interoperability with BIND');
  requireTools('cookie interoperability with BIND', ['named', 'dig', 'nsenter']);
});

describe.each(['generic', 'native'] as const)('%s mode', (mode) => {
  let v: VethSanta | undefined;
  let bind: BindServer | undefined;
  let secret: Buffer;
  const slot = 1;

  beforeAll(async () => {
    v = await startVethSanta(mode);
    bind = await startBind({
      netns: v.topo.server.ns,
      addresses: [v.topo.server.v4, v.topo.server.v6],
      zones: [{ name: ZONE, text: ZONE_TEXT }],
      extraOptions: `cookie-secret "${SECRET_HEX}"; require-server-cookie yes;`,
    });
    // The named.conf parser does not report require-server-cookie (yet): the test states it.
    const choice = chooseCookieSecret({ ...readNamedConf(bind.confPath).options, requireServerCookie: true });
    if (!choice.secret) throw new Error(`no cookie secret from ${bind.confPath}: ${choice.reason}`);
    secret = choice.secret;
    v.santa.settings({
      ports: [53],
      v4Addrs: [v.topo.server.v4],
      v6Addrs: [v.topo.server.v6],
      cookie: { secret, clockOffsetNs: wallClockOffsetNs(), requireServerCookie: choice.requireServerCookie },
    });
    // dig sends RD=1 and EDNS: BIND's answer to that (no-auth-recursive) is the A record alone.
    v.santa.install({ name: CACHED, rd: true, edns: true, slot, answers: [{ name: CACHED, type: 'A', ttl: 300, data: '192.0.2.80' }] });
  });

  afterAll(async () => {
    try {
      await bind?.stop();
    } finally {
      await v?.close();
    }
  });

  async function dig(name: string, cookie: string, v6 = false): Promise<DigCookie> {
    const server = v6 ? v!.topo.server.v6 : v!.topo.server.v4;
    const r = await v!.topo.exec(
      v!.topo.client,
      ['dig', `@${server}`, name, 'A', '+tries=1', '+time=2', '+nobadcookie', '+bufsize=1232', cookie],
      { allowFailure: true, timeoutMs: 10_000 },
    );
    const output = r.stdout + r.stderr;
    const status = /status: ([A-Z]+)/.exec(output)?.[1];
    if (r.code !== 0 || !status) throw new Error(`dig ${name} ${cookie} got no response: ${output}`);
    const answerSection = /;; ANSWER SECTION:\n([\s\S]*?)\n\n/.exec(output)?.[1] ?? '';
    const answer = answerSection.split('\n').filter((l) => l.trim() !== '').map((l) => l.split(/\s+/).pop()!);
    const hex = /; COOKIE: ([0-9a-f]+)/.exec(output)?.[1];
    return { status, answer, cookie: hex ? Buffer.from(hex, 'hex') : undefined, output };
  }

  function tampered(cookie: Buffer): string {
    const t = Buffer.from(cookie);
    t[t.length - 1] ^= 0x01;
    return `+cookie=${t.toString('hex')}`;
  }

  function nowSeconds(): number {
    return Math.floor(Date.now() / 1000);
  }

  it.each([
    ['IPv4', false],
    ['IPv6', true],
  ])('%s: a cookie minted by XDP is accepted by BIND', async (_family, v6) => {
    const client = v6 ? v!.topo.client.v6 : v!.topo.client.v4;
    const before = v!.santa.maps.readStats();
    const hitsBefore = v!.santa.hits(slot);
    // Under require-server-cookie a client cookie alone is BIND's to refuse: XDP passes it.
    const first = await dig(CACHED, '+cookie', v6);
    expect(first.status).toBe('BADCOOKIE');
    expect(v!.santa.maps.readStats().PASS_BAD_COOKIE - before.PASS_BAD_COOKIE).toBe(1);
    // XDP answers once the client has a server cookie, and mints a fresh one of its own.
    const fromXdp = await dig(CACHED, `+cookie=${first.cookie!.toString('hex')}`, v6);
    expect({ status: fromXdp.status, answer: fromXdp.answer }).toEqual({ status: 'NOERROR', answer: ['192.0.2.80'] });
    expect(v!.santa.hits(slot)).toBe(hitsBefore + 1);
    expect(v!.santa.maps.readStats().HITS - before.HITS).toBe(1);
    const cookie = fromXdp.cookie!;
    expect(cookie.length).toBe(24);
    expect(checkServerCookie(secret, cookie.subarray(0, 8), cookie.subarray(8), client, nowSeconds())).toBe('valid');

    // The same cookie to BIND (the name is not cached: XDP passes it as a miss).
    const missBefore = v!.santa.maps.readStats().PASS_MISS;
    const atBind = await dig(UNCACHED, `+cookie=${cookie.toString('hex')}`, v6);
    expect({ status: atBind.status, answer: atBind.answer }).toEqual({ status: 'NOERROR', answer: ['192.0.2.81'] });
    expect(v!.santa.maps.readStats().PASS_MISS - missBefore).toBe(1);
    // BIND echoes the client cookie with a server cookie of its own making, which XDP's reference accepts.
    expect(atBind.cookie!.subarray(0, 8).equals(cookie.subarray(0, 8))).toBe(true);
    expect(checkServerCookie(secret, cookie.subarray(0, 8), atBind.cookie!.subarray(8), client, nowSeconds())).toBe('valid');

    // BIND checks: the same cookie with one bit flipped is refused.
    expect((await dig(UNCACHED, tampered(cookie), v6)).status).toBe('BADCOOKIE');
  });

  it.each([
    ['IPv4', false],
    ['IPv6', true],
  ])("%s: XDP's reply to a cookie query is BIND's, byte for byte", async (_family, v6) => {
    const client = v6 ? v!.topo.client.v6 : v!.topo.client.v4;
    const server = v6 ? v!.topo.server.v6 : v!.topo.server.v4;
    const clientCookie = Buffer.from('a1b2c3d4e5f60718', 'hex');
    const m = buildQuery({ name: 'WwW.Example.TEST', type: 'A', rd: true, edns: true, id: 0x5a5a });
    const option = cookieOption(clientCookie, serverCookie(secret, clientCookie, client, nowSeconds() - 30));
    const bytes = Buffer.concat([m, option]);
    bytes.writeUInt16BE(option.length, m.length - 2);

    const hitsBefore = v!.santa.hits(slot);
    const fromXdp = await query(bytes, { server, netns: v!.topo.client.ns, transport: 'udp', retries: 0 });
    expect(v!.santa.hits(slot)).toBe(hitsBefore + 1);
    const fromBind = await query(bytes, { server, netns: v!.topo.client.ns, transport: 'tcp' });
    expect(v!.santa.hits(slot)).toBe(hitsBefore + 1);
    // The server cookie is the last 16 bytes of both (OPT is last, COOKIE its only option).
    const body = (raw: Buffer) => raw.subarray(0, raw.length - 16);
    expect(body(fromXdp.raw).toString('hex')).toBe(body(fromBind.raw).toString('hex'));
    const xdpCookie = fromXdp.raw.subarray(fromXdp.raw.length - 16);
    const bindCookie = fromBind.raw.subarray(fromBind.raw.length - 16);
    expect(checkServerCookie(secret, clientCookie, xdpCookie, client, nowSeconds())).toBe('valid');
    expect(checkServerCookie(secret, clientCookie, bindCookie, client, nowSeconds())).toBe('valid');
    if (xdpCookie.readUInt32BE(4) === bindCookie.readUInt32BE(4)) expect(xdpCookie.toString('hex')).toBe(bindCookie.toString('hex'));
  });

  it.each([
    ['IPv4', false],
    ['IPv6', true],
  ])('%s: a cookie minted by BIND is accepted by XDP (a hit)', async (_family, v6) => {
    const client = v6 ? v!.topo.client.v6 : v!.topo.client.v4;
    // Only a client cookie: BIND (require-server-cookie) answers BADCOOKIE with a server cookie.
    const fromBind = await dig(UNCACHED, '+cookie', v6);
    expect(fromBind.status).toBe('BADCOOKIE');
    const cookie = fromBind.cookie!;
    expect(cookie.length).toBe(24);

    const before = v!.santa.maps.readStats();
    const hitsBefore = v!.santa.hits(slot);
    const atXdp = await dig(CACHED, `+cookie=${cookie.toString('hex')}`, v6);
    const after = v!.santa.maps.readStats();
    expect({ status: atXdp.status, answer: atXdp.answer }).toEqual({ status: 'NOERROR', answer: ['192.0.2.80'] });
    expect({ hits: after.HITS - before.HITS, bad: after.PASS_BAD_COOKIE - before.PASS_BAD_COOKIE }).toEqual({ hits: 1, bad: 0 });
    expect(v!.santa.hits(slot)).toBe(hitsBefore + 1);
    expect(atXdp.cookie!.subarray(0, 8).equals(cookie.subarray(0, 8))).toBe(true);
    expect(checkServerCookie(secret, cookie.subarray(0, 8), atXdp.cookie!.subarray(8), client, nowSeconds())).toBe('valid');

    // A tampered BIND cookie is not answered by XDP: it passes, and BIND refuses it.
    const badBefore = v!.santa.maps.readStats().PASS_BAD_COOKIE;
    expect((await dig(CACHED, tampered(cookie), v6)).status).toBe('BADCOOKIE');
    expect(v!.santa.maps.readStats().PASS_BAD_COOKIE - badBefore).toBe(1);
  });
});
