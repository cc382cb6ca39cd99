/**
 * DNS cookies answered by the real santa_xdp program through BPF_PROG_TEST_RUN (repeat = 1).
 * Server cookies are minted and checked by the TypeScript reference (sidecar/cookies), an
 * implementation independent of the program's C; every reply is compared byte for byte with
 * the response the reference predicts and its frame checked by verifyReply (lengths, IPv4
 * header checksum, full UDP checksum).
 */
import * as dnsPacket from 'dns-packet';
import { requireRoot } from '../support/require-root';
import { buildFrame, dnsQuery, FrameSpec, QuerySpec, verifyReply } from '../support/packets';
import { SantaUnderTest, XDP_PASS, XDP_TX } from '../xdp/harness';
import { checkServerCookie, cookieOption, serverCookie, wallClockOffsetNs } from '../../sidecar/cookies';

const V4: FrameSpec = { src: '10.53.0.1', dst: '10.53.0.2', sport: 41000 };
const V6: FrameSpec = { src: 'fd53::1', dst: 'fd53::2', sport: 41000 };
const SECRET = Buffer.from('0f1e2d3c4b5a69788796a5b4c3d2e1f0', 'hex');
const CLIENT = Buffer.from('c0ffee0123456789', 'hex');

// Names of odd and even length, so the COOKIE option lands at both checksum parities.
const EVEN = 'www.example.test';
const ODD = 'ww.example.test';

let santa: SantaUnderTest;
let nextSlot = 1;
const stored = new Map<string, Buffer>();

beforeAll(() => {
  requireRoot('santa_xdp cookie tests');
  santa = SantaUnderTest.load();
  for (const name of [EVEN, ODD]) {
    const slot = nextSlot++;
    stored.set(name, santa.install({ name, edns: true, slot, answers: [{ name, type: 'A', ttl: 300, data: '192.0.2.80' }] }));
  }
});

afterAll(() => santa?.close());

beforeEach(() => santa.settings({ cookie: { secret: SECRET, clockOffsetNs: wallClockOffsetNs() } }));

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** A query whose OPT RDATA is `rdata` (dns-packet encodes an empty OPT; the RDATA goes after it). */
function queryWithOptions(spec: FrameSpec, q: QuerySpec, rdata: Buffer): { frame: Buffer; dns: Buffer } {
  const m = dnsQuery({ ...q, edns: q.edns ?? { udpSize: 1232 } });
  const dns = Buffer.concat([m, rdata]);
  dns.writeUInt16BE(rdata.length, m.length - 2);
  return { frame: buildFrame(spec, dns), dns };
}

function cookieQuery(spec: FrameSpec, name: string, server?: Buffer, q: Partial<QuerySpec> = {}) {
  return queryWithOptions(spec, { name, ...q }, cookieOption(CLIENT, server));
}

/**
 * What the program must send for a cookie query to `name`: the stored response with the
 * query's ID and question bytes, and its OPT extended by a COOKIE option holding the client
 * cookie and `server`.
 */
function expectedReply(queryDns: Buffer, name: string, server: Buffer): Buffer {
  const reply = stored.get(name)!;
  const qlen = queryDns.indexOf(0, 12) + 1 - 12 + 4;
  const option = cookieOption(CLIENT, server);
  const rdlen = Buffer.alloc(2);
  rdlen.writeUInt16BE(option.length);
  return Buffer.concat([
    queryDns.subarray(0, 2),
    reply.subarray(2, 12),
    queryDns.subarray(12, 12 + qlen),
    reply.subarray(12 + qlen, reply.length - 2),
    rdlen,
    option,
  ]);
}

function expectPass(frame: Buffer, reason: string): void {
  const r = santa.run(frame);
  expect({ retval: r.retval, moved: r.moved }).toEqual({ retval: XDP_PASS, moved: { PACKETS: 1, DNS_QUERIES: 1, [reason]: 1 } });
  expect(r.out.equals(frame)).toBe(true);
}

/** Runs a query that must hit; checks the frame and the exact DNS bytes; returns the server cookie sent. */
function expectCookieHit(spec: FrameSpec, name: string, query: { frame: Buffer; dns: Buffer }): Buffer {
  const before = nowSeconds();
  const r = santa.run(query.frame);
  const after = nowSeconds();
  expect({ retval: r.retval, moved: r.moved }).toEqual({
    retval: XDP_TX,
    moved: { PACKETS: 1, DNS_QUERIES: 1, HITS: 1, TX_BYTES: r.out.length },
  });
  const { dns } = verifyReply(query.frame, r.out);
  const decoded = dnsPacket.decode(dns);
  const opt = (decoded.additionals ?? []).find((a) => a.type === 'OPT') as unknown as { options: Array<{ code: number; data: Buffer }> };
  expect(opt.options.map((o) => o.code)).toEqual([10]);
  const sent = opt.options[0].data.subarray(8);
  expect(sent.length).toBe(16);
  const when = sent.readUInt32BE(4);
  // Minted now, from the program's own clock (the offset user space wrote).
  expect(when).toBeGreaterThanOrEqual(before - 1);
  expect(when).toBeLessThanOrEqual(after + 1);
  expect(dns.equals(expectedReply(query.dns, name, serverCookie(SECRET, CLIENT, spec.src, when)))).toBe(true);
  expect(checkServerCookie(SECRET, CLIENT, sent, spec.src, after)).toBe('valid');
  return sent;
}

describe('cookie queries that hit', () => {
  it.each([
    ['IPv4', 'even', V4, EVEN],
    ['IPv4', 'odd', V4, ODD],
    ['IPv6', 'even', V6, EVEN],
    ['IPv6', 'odd', V6, ODD],
  ])('%s, client cookie only, %s-length name: the reply carries a fresh server cookie', (_family, _parity, spec, name) => {
    expectCookieHit(spec, name, cookieQuery(spec, name));
  });

  it.each([
    ['IPv4', V4],
    ['IPv6', V6],
  ] as Array<[string, FrameSpec]>)('%s: a valid server cookie hits, and the reply mints a new one at the current time', (_family, spec) => {
    const minted = serverCookie(SECRET, CLIENT, spec.src, nowSeconds() - 600);
    const sent = expectCookieHit(spec, ODD, cookieQuery(spec, ODD, minted));
    expect(sent.equals(minted)).toBe(false);
  });

  it('the cookie the program sent is accepted by the program', () => {
    const first = expectCookieHit(V6, EVEN, cookieQuery(V6, EVEN));
    expectCookieHit(V6, EVEN, cookieQuery(V6, EVEN, first));
  });

  it('server cookies inside BIND\'s window hit: 59 minutes old, 4 minutes ahead', () => {
    expectCookieHit(V4, EVEN, cookieQuery(V4, EVEN, serverCookie(SECRET, CLIENT, V4.src, nowSeconds() - 3540)));
    expectCookieHit(V4, EVEN, cookieQuery(V4, EVEN, serverCookie(SECRET, CLIENT, V4.src, nowSeconds() + 240)));
  });

  it('ID, RD and CD come from the query, and the hit counter moves', () => {
    const slot = nextSlot++;
    const name = 'rd.example.test';
    stored.set(name, santa.install({ name, rd: true, edns: true, slot, answers: [{ name, type: 'A', ttl: 60, data: '192.0.2.1' }] }));
    const q = cookieQuery(V4, name, undefined, { rd: true, cd: true, id: 0xbeef });
    const r = santa.run(q.frame);
    expect(r.retval).toBe(XDP_TX);
    const { dns } = verifyReply(q.frame, r.out);
    expect(dns.readUInt16BE(0)).toBe(0xbeef);
    expect(dns.readUInt16BE(2) & 0x0110).toBe(0x0110);
    expect(santa.hits(slot)).toBe(1);
  });

  it('dry-run counts a would-be cookie hit and passes', () => {
    santa.settings({ mode: 'dry-run', cookie: { secret: SECRET, clockOffsetNs: wallClockOffsetNs() } });
    expectPass(cookieQuery(V4, EVEN).frame, 'DRY_RUN_HITS');
  });
});

describe('cookie queries that pass', () => {
  it('a stale server cookie (older than an hour) or one from the future (beyond 5 minutes)', () => {
    expectPass(cookieQuery(V4, EVEN, serverCookie(SECRET, CLIENT, V4.src, nowSeconds() - 3700)).frame, 'PASS_BAD_COOKIE');
    expectPass(cookieQuery(V6, EVEN, serverCookie(SECRET, CLIENT, V6.src, nowSeconds() + 400)).frame, 'PASS_BAD_COOKIE');
  });

  it('a server cookie that is not ours for this client', () => {
    const good = serverCookie(SECRET, CLIENT, V4.src, nowSeconds());
    const flipped = Buffer.from(good);
    flipped[15] ^= 1;
    expectPass(cookieQuery(V4, EVEN, flipped).frame, 'PASS_BAD_COOKIE');
    // Minted for another address, another secret, another client cookie.
    expectPass(cookieQuery(V4, EVEN, serverCookie(SECRET, CLIENT, '10.53.0.9', nowSeconds())).frame, 'PASS_BAD_COOKIE');
    expectPass(cookieQuery(V4, EVEN, serverCookie(Buffer.alloc(16, 7), CLIENT, V4.src, nowSeconds())).frame, 'PASS_BAD_COOKIE');
    expectPass(cookieQuery(V6, EVEN, serverCookie(SECRET, Buffer.alloc(8, 1), V6.src, nowSeconds())).frame, 'PASS_BAD_COOKIE');
    // Version 2, or reserved bytes set: BIND recomputes version 1 with zeroes, so it never matches.
    const v2 = Buffer.from(good);
    v2[0] = 2;
    expectPass(cookieQuery(V4, EVEN, v2).frame, 'PASS_BAD_COOKIE');
    const reserved = Buffer.from(good);
    reserved[2] = 1;
    expectPass(cookieQuery(V4, EVEN, reserved).frame, 'PASS_BAD_COOKIE');
  });

  it('cookie lengths BIND does not mint or that are malformed', () => {
    // A 24-byte server cookie (another implementation's), a 5-byte client cookie, 40 + 1 bytes.
    expectPass(cookieQuery(V4, EVEN, Buffer.alloc(24, 3)).frame, 'PASS_BAD_COOKIE');
    expectPass(queryWithOptions(V4, { name: EVEN }, cookieOption(CLIENT.subarray(0, 5))).frame, 'PASS_BAD_COOKIE');
    expectPass(cookieQuery(V4, EVEN, Buffer.alloc(33, 3)).frame, 'PASS_BAD_COOKIE');
  });

  it('other options, alone or beside a cookie, and an option length that runs past the RDATA', () => {
    const nsid = Buffer.from([0, 3, 0, 0]);
    expectPass(queryWithOptions(V4, { name: EVEN }, nsid).frame, 'PASS_EDNS_OPTIONS');
    expectPass(queryWithOptions(V4, { name: EVEN }, Buffer.concat([cookieOption(CLIENT), nsid])).frame, 'PASS_EDNS_OPTIONS');
    expectPass(queryWithOptions(V4, { name: EVEN }, Buffer.concat([nsid, cookieOption(CLIENT)])).frame, 'PASS_EDNS_OPTIONS');
    const long = cookieOption(CLIENT);
    long.writeUInt16BE(9, 2);
    expectPass(queryWithOptions(V4, { name: EVEN }, long).frame, 'PASS_EDNS_OPTIONS');
  });

  it('a cookie reply larger than the client allows (512 without a larger EDNS size)', () => {
    const name = 'big.example.test';
    const slot = nextSlot++;
    // Header 12, question 22, TXT answer (owner 18 as dns-packet writes it, 10, 1 + text),
    // OPT 11: with 410 bytes of text, 484 bytes without the cookie and 512 with it; one more
    // byte of text and the cookie reply no longer fits.
    const text = (n: number) => 'x'.repeat(n);
    const install = (n: number) =>
      stored.set(name, santa.install({ name, type: 'TXT', edns: true, slot, answers: [{ name, type: 'TXT', ttl: 60, data: [text(n)] }] }));
    install(410);
    const q = cookieQuery(V4, name, undefined, { type: 'TXT', edns: { udpSize: 512 } });
    const r = santa.run(q.frame);
    expect(r.retval).toBe(XDP_TX);
    expect(verifyReply(q.frame, r.out).dns.length).toBe(512);
    install(411);
    expectPass(q.frame, 'PASS_TOO_BIG');
  });

  it("nocookie-udp-size holds every reply but those to a valid server cookie, as named's does", () => {
    const cookie = { secret: SECRET, clockOffsetNs: wallClockOffsetNs() };
    const plain = buildFrame(V4, dnsQuery({ name: EVEN, edns: { udpSize: 1232 } }));
    const plainLength = verifyReply(plain, santa.run(plain).out).dns.length;
    const cookieLength = plainLength + 28; // the COOKIE option: 4 + 8 + 16
    santa.settings({ cookie, nocookieUdpSize: cookieLength - 1 });
    expect(santa.run(plain).retval).toBe(XDP_TX);
    expectPass(cookieQuery(V4, EVEN).frame, 'PASS_TOO_BIG');
    expectCookieHit(V4, EVEN, cookieQuery(V4, EVEN, serverCookie(SECRET, CLIENT, V4.src, nowSeconds())));
    santa.settings({ cookie, nocookieUdpSize: plainLength - 1 });
    expectPass(plain, 'PASS_TOO_BIG');
  });

  it('under require-server-cookie a client cookie alone passes (BIND answers BADCOOKIE), a valid one hits', () => {
    santa.settings({ cookie: { secret: SECRET, clockOffsetNs: wallClockOffsetNs(), requireServerCookie: true } });
    expectPass(cookieQuery(V4, EVEN).frame, 'PASS_BAD_COOKIE');
    expectCookieHit(V4, EVEN, cookieQuery(V4, EVEN, serverCookie(SECRET, CLIENT, V4.src, nowSeconds())));
  });

  it('without cookie settings a cookie query passes as before', () => {
    santa.settings({});
    expectPass(cookieQuery(V4, EVEN).frame, 'PASS_EDNS_OPTIONS');
  });
});
