/**
 * The pure parts of cookie support: the SipHash-2-4 reference against its authors' vectors,
 * server cookies and BIND's acceptance window, the secret taken from named.conf options, and
 * the settings and cache-value codecs where cookies change them.
 */
import * as dnsPacket from 'dns-packet';
import {
  checkServerCookie,
  chooseCookieSecret,
  cookieOption,
  CookieSecretError,
  cookieSettingsSource,
  parseCookieSecret,
  serverCookie,
  siphash24,
  wallClockOffsetNs,
} from '../../sidecar/cookies';
import { cacheEntry, decodeSettings, encodeSettings, keyFlags, SantaSettings } from '../../sidecar/bpf/codec';
import { buildNativeAndFixtures } from '../bpf/setup';

const SECRET = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
const CLIENT = Buffer.from('0102030405060708', 'hex');

beforeAll(() => buildNativeAndFixtures());

describe('siphash24', () => {
  // Key 00..0f, message 00..(n-1): vectors from the SipHash reference implementation.
  const key = Buffer.from(Array.from({ length: 16 }, (_, i) => i));
  const msg = (n: number) => Buffer.from(Array.from({ length: n }, (_, i) => i));
  it.each([
    [0, '310e0edd47db6f72'],
    [1, 'fd67dc93c539f874'],
    [7, '37d1018bf50002ab'],
    [8, '6224939a79f5f593'],
    [15, 'e545be4961ca29a1'],
    [63, '724506eb4c328a95'],
  ])('%i-byte message', (n, want) => {
    expect(siphash24(key, msg(n)).toString('hex')).toBe(want);
  });

  it('refuses a key that is not 16 bytes', () => {
    expect(() => siphash24(Buffer.alloc(8), msg(1))).toThrow(/16 bytes, not 8/);
  });
});

describe('server cookies', () => {
  const t = 1_800_000_000;

  it('version 1, reserved zero, the timestamp, then SipHash over client cookie | those 8 bytes | address', () => {
    const c = serverCookie(SECRET, CLIENT, '192.0.2.1', t);
    expect(c.subarray(0, 8).toString('hex')).toBe('01000000' + t.toString(16).padStart(8, '0'));
    const input = Buffer.concat([CLIENT, c.subarray(0, 8), Buffer.from([192, 0, 2, 1])]);
    expect(c.subarray(8).equals(siphash24(SECRET, input))).toBe(true);
    const v6 = serverCookie(SECRET, CLIENT, '2001:db8::1', t);
    const v6Input = Buffer.concat([CLIENT, v6.subarray(0, 8), Buffer.from('20010db8000000000000000000000001', 'hex')]);
    expect(v6.subarray(8).equals(siphash24(SECRET, v6Input))).toBe(true);
  });

  it("BIND's window: an hour old to five minutes ahead, in 32-bit serial arithmetic", () => {
    const at = (when: number, now: number) => checkServerCookie(SECRET, CLIENT, serverCookie(SECRET, CLIENT, '192.0.2.1', when), '192.0.2.1', now);
    expect(at(t - 3600, t)).toBe('valid');
    expect(at(t - 3601, t)).toBe('too-old');
    expect(at(t + 300, t)).toBe('valid');
    expect(at(t + 301, t)).toBe('in-future');
    // Across the 2106 wrap of 32-bit seconds.
    expect(at(2 ** 32 - 10, 2 ** 32 + 100)).toBe('valid');
  });

  it('another address, client cookie or secret does not match; other sizes are not ours', () => {
    const c = serverCookie(SECRET, CLIENT, '192.0.2.1', t);
    expect(checkServerCookie(SECRET, CLIENT, c, '192.0.2.2', t)).toBe('mismatch');
    expect(checkServerCookie(SECRET, Buffer.alloc(8), c, '192.0.2.1', t)).toBe('mismatch');
    expect(checkServerCookie(Buffer.alloc(16), CLIENT, c, '192.0.2.1', t)).toBe('mismatch');
    expect(checkServerCookie(SECRET, CLIENT, Buffer.concat([c, Buffer.alloc(4)]), '192.0.2.1', t)).toBe('wrong-size');
  });

  it('the COOKIE option bytes', () => {
    expect(cookieOption(CLIENT).toString('hex')).toBe('000a0008' + CLIENT.toString('hex'));
    expect(cookieOption(CLIENT, Buffer.alloc(16)).readUInt16BE(2)).toBe(24);
    expect(() => serverCookie(SECRET, Buffer.alloc(7), '192.0.2.1', t)).toThrow(/8 bytes, not 7/);
    expect(() => serverCookie(SECRET, CLIENT, 'nowhere', t)).toThrow(/not an IP address/);
  });
});

describe('the secret from named.conf', () => {
  it('the first cookie-secret, as hex', () => {
    const choice = chooseCookieSecret({ cookieSecrets: [SECRET.toString('hex').toUpperCase(), 'ff'.repeat(16)] });
    expect(choice).toEqual({ secret: SECRET, requireServerCookie: false });
    expect(chooseCookieSecret({ cookieSecrets: [SECRET.toString('hex')], requireServerCookie: true, cookieAlgorithm: 'SipHash24' })).toEqual({
      secret: SECRET,
      requireServerCookie: true,
    });
  });

  it('says why cookies stay with BIND', () => {
    expect(chooseCookieSecret({ cookieSecrets: [] }).reason).toMatch(/no cookie-secret.*random/);
    expect(chooseCookieSecret({ cookieSecrets: ['00'.repeat(16)], cookieAlgorithm: 'aes' }).reason).toMatch(/cookie-algorithm aes/);
    expect(chooseCookieSecret({ cookieSecrets: ['00'.repeat(16)], answerCookie: false }).reason).toMatch(/answer-cookie no/);
  });

  it('santa run\'s settings source: fresh clock each time, or the reason cookies stay with BIND', () => {
    const source = cookieSettingsSource({ cookieSecrets: [SECRET.toString('hex')] });
    const a = source.settings!();
    expect(Buffer.from(a.secret).equals(SECRET)).toBe(true);
    expect(a.requireServerCookie).toBe(false);
    expect(Number(a.clockOffsetNs / 1_000_000n)).toBeGreaterThan(Date.now() - 10 * 365 * 86_400_000);
    expect(cookieSettingsSource({ cookieSecrets: [] })).toEqual({ reason: expect.stringMatching(/no cookie-secret/) });
    expect(cookieSettingsSource({ cookieSecrets: ['abcd'] })).toEqual({ reason: expect.stringMatching(/^cookie-secret \(first\): 2 bytes/) });
  });

  it('a malformed secret is an error naming the statement', () => {
    expect(() => parseCookieSecret('0123456789abcdef')).toThrow(CookieSecretError);
    expect(() => parseCookieSecret('0123456789abcdef')).toThrow(/^cookie-secret: 8 bytes; cookie-algorithm siphash24 needs 16/);
    expect(() => parseCookieSecret('xyz')).toThrow(/not an even number of hex digits/);
    expect(() => chooseCookieSecret({ cookieSecrets: ['abc'] })).toThrow(/^cookie-secret \(first\)/);
  });
});

describe('codecs', () => {
  const base: SantaSettings = { mode: 'on', maxUdpSize: 0, ports: [], v4Addrs: [], v6Addrs: [] };

  it('settings carry the cookie secret, clock offset and require-server-cookie, and read back', () => {
    const offset = wallClockOffsetNs();
    for (const s of [
      base,
      { ...base, cookie: { secret: SECRET, clockOffsetNs: offset } },
      { ...base, cookie: { secret: SECRET, clockOffsetNs: offset, requireServerCookie: true } },
    ]) {
      expect(decodeSettings(encodeSettings(s))).toEqual(s);
    }
  });

  it('settings refuse a secret of the wrong size and an unusable clock', () => {
    expect(() => encodeSettings({ ...base, cookie: { secret: Buffer.alloc(8), clockOffsetNs: 1n } })).toThrow(/8 bytes, not 16/);
    expect(() => encodeSettings({ ...base, cookie: { secret: SECRET, clockOffsetNs: 0n } })).toThrow(/clock offset/);
  });

  it('the wall-clock offset is wall time minus the monotonic clock', () => {
    expect(wallClockOffsetNs(2_000, 500_000n)).toBe(2_000_000_000n - 500_000n);
    const now = wallClockOffsetNs() + process.hrtime.bigint();
    expect(Math.abs(Number(now / 1_000_000n) - Date.now())).toBeLessThan(50);
  });

  it('an entry whose OPT carries options cannot be installed (the COOKIE option is appended to it)', () => {
    const name = 'www.example.test';
    const reply = dnsPacket.encode({
      type: 'response',
      id: 0,
      flags: dnsPacket.AUTHORITATIVE_ANSWER,
      questions: [{ name, type: 'A', class: 'IN' }],
      answers: [{ name, type: 'A', ttl: 60, data: '192.0.2.1' }],
      additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0, options: [{ code: 3, data: Buffer.from('ns1') }] } as unknown as dnsPacket.Answer],
    });
    const flags = keyFlags({ recursionDesired: false, edns: true, dnssecOk: false, ipv6: false });
    expect(() => cacheEntry({ question: { name, type: 'A' }, reply, slot: 0, expiresJiffies: 1n, keyFlags: flags })).toThrow(/OPT record carries 7 bytes of options/);
  });
});
