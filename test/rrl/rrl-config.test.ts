/**
 * The pure parts of RRL: named.conf `rate-limit {}` -> config (BIND's defaults, ranges and
 * errors that name the key and file:line), response identities of real BIND-shaped messages,
 * the config's wire layout, and the kernel HZ reader.
 */
import * as dnsPacket from 'dns-packet';
import { parseStatements, NamedConfError } from '../../sidecar/named-conf/syntax';
import { interpretNamedConf } from '../../sidecar/named-conf/read';
import { defaultRrlConfig, rrlConfigFromStatement, rrlLimitsAnything } from '../../sidecar/rrl/config';
import { rateLimitFromConf } from '../../sidecar/rrl';
import { identityHash, rrlIdentity, RrlKind } from '../../sidecar/rrl/identity';
import { RrlModel } from '../../sidecar/rrl/model';

function parse(body: string) {
  const [s] = parseStatements(`options {\n  rate-limit {\n${body}\n  };\n};`, '/etc/bind/named.conf.options')[0].block!;
  return rrlConfigFromStatement(s);
}

describe('rate-limit {} -> RRL config', () => {
  it('applies BIND 9.18 defaults: specific rates follow responses-per-second, all-per-second is off', () => {
    expect(parse('responses-per-second 10;')).toEqual({
      ...defaultRrlConfig(),
      responsesPerSecond: 10,
      referralsPerSecond: 10,
      nodataPerSecond: 10,
      nxdomainsPerSecond: 10,
      errorsPerSecond: 10,
    });
    expect(defaultRrlConfig()).toMatchObject({ window: 15, slip: 2, ipv4PrefixLength: 24, ipv6PrefixLength: 56, allPerSecond: 0, logOnly: false });
  });

  it('reads every supported statement', () => {
    const c = parse(`
      responses-per-second 5; referrals-per-second 6; nodata-per-second 7; nxdomains-per-second 8;
      errors-per-second 9; all-per-second 20; window 4; slip 3; ipv4-prefix-length 28;
      ipv6-prefix-length 64; log-only yes; max-table-size 50000; min-table-size 1000;
      exempt-clients { 192.0.2.1; !198.51.100.0/24; 198.51.0.0/16; 2001:db8::/32; none; };`);
    expect(c).toMatchObject({
      responsesPerSecond: 5,
      referralsPerSecond: 6,
      nodataPerSecond: 7,
      nxdomainsPerSecond: 8,
      errorsPerSecond: 9,
      allPerSecond: 20,
      window: 4,
      slip: 3,
      ipv4PrefixLength: 28,
      ipv6PrefixLength: 64,
      logOnly: true,
    });
    expect(c.exemptClients.map((p) => [p.family, p.address.toString('hex'), p.length, p.negated])).toEqual([
      [4, 'c0000201', 32, false],
      [4, 'c6336400', 24, true],
      [4, 'c6330000', 16, false],
      [6, '20010db8000000000000000000000000', 32, false],
    ]);
    expect(c.notes).toHaveLength(2);
    expect(c.notes[0]).toContain('max-table-size 50000 (/etc/bind/named.conf.options:6)');
  });

  it.each([
    ['responses-per-second 1001;', ':3: rate-limit responses-per-second: 1001 is outside 0..1000'],
    ['window 0;', ':3: rate-limit window: 0 is outside 1..3600'],
    ['slip 11;', ':3: rate-limit slip: 11 is outside 0..10'],
    ['ipv6-prefix-length 129;', ':3: rate-limit ipv6-prefix-length: 129 is outside 0..128'],
    ['responses-per-second five;', "rate-limit responses-per-second: expects one integer, got 'five'"],
    ['log-only maybe;', "rate-limit log-only: expects yes or no, got 'maybe'"],
    ['qps-scale 250;', 'rate-limit qps-scale: not supported by Santa'],
    ['responses-per-secnd 5;', ":3: rate-limit: unknown statement 'responses-per-secnd'"],
    ['window 5;\nwindow 6;', ':4: rate-limit window: given twice (first at line 3)'],
    ['exempt-clients { trusted-acl; };', "rate-limit exempt-clients: 'trusted-acl' is not an address, a prefix or a known ACL"],
    ['exempt-clients { 10.0.0.0/33; };', "rate-limit exempt-clients: '10.0.0.0/33': prefix length must be 0..32"],
    ['exempt-clients { { 10/8; }; };', "rate-limit exempt-clients: '10/8' is not an address, a prefix or a known ACL"],
    ['exempt-clients { key tsig-key; };', "rate-limit exempt-clients: 'key tsig-key' depends on a TSIG key, not the address"],
  ])('%s -> a NamedConfError naming file:line and key', (body, message) => {
    let error: unknown;
    try {
      parse(body);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(NamedConfError);
    expect((error as Error).message).toContain('/etc/bind/named.conf.options');
    expect((error as Error).message).toContain(message);
  });

  it('exempt-clients may name ACLs and nest lists', () => {
    const conf = interpretNamedConf(
      'acl trusted { 192.0.2.0/24; { 2001:db8::/32; }; };\noptions { directory "/var/cache/bind"; rate-limit { responses-per-second 5; exempt-clients { !192.0.2.7; trusted; }; }; };',
      '/etc/bind/named.conf',
      () => '',
    );
    const exempt = rateLimitFromConf(conf)!.exemptClients;
    expect(exempt.map((p) => [p.family, p.address.toString('hex'), p.length, p.negated])).toEqual([
      [4, 'c0000207', 32, true],
      [4, 'c0000200', 24, false],
      [6, '20010db8000000000000000000000000', 32, false],
    ]);
  });

  it('a block with no rate limits nothing, and santa run treats it as off', () => {
    expect(rrlLimitsAnything(parse('window 5; slip 0;'))).toBe(false);
    expect(rrlLimitsAnything(parse('all-per-second 5;'))).toBe(true);
    const conf = interpretNamedConf('options { directory "/var/cache/bind"; rate-limit { window 5; }; };', '/etc/bind/named.conf', () => '');
    expect(rateLimitFromConf(conf)).toBeNull();
    const limited = interpretNamedConf('options { directory "/var/cache/bind"; rate-limit { responses-per-second 3; }; };', '/etc/bind/named.conf', () => '');
    expect(rateLimitFromConf(limited)?.responsesPerSecond).toBe(3);
  });
});

describe('response identities', () => {
  const SOA = (zone: string): dnsPacket.Answer => ({
    name: zone,
    type: 'SOA',
    ttl: 300,
    data: { mname: `ns.${zone}`, rname: `h.${zone}`, serial: 1, refresh: 1, retry: 1, expire: 1, minimum: 1 },
  });
  const response = (name: string, type: string, flags: number, sections: Partial<dnsPacket.Packet>) =>
    dnsPacket.encode({ type: 'response', id: 1, flags, questions: [{ name, type: type as dnsPacket.RecordType, class: 'IN' }], ...sections });
  const AA = dnsPacket.AUTHORITATIVE_ANSWER;

  it('NXDOMAIN is keyed on the zone (SOA owner), so random names share it', () => {
    const a = rrlIdentity(response('x1.example.test', 'A', AA | 3, { authorities: [SOA('example.test')] }));
    const b = rrlIdentity(response('Y2.Example.TEST', 'AAAA', AA | 3, { authorities: [SOA('example.test')] }));
    const other = rrlIdentity(response('x1.other.test', 'A', AA | 3, { authorities: [SOA('other.test')] }));
    expect(a).toEqual({ kind: RrlKind.Nxdomain, id: identityHash(RrlKind.Nxdomain, Buffer.from('076578616d706c65047465737400', 'hex')) });
    expect(b).toEqual(a);
    expect(other.id).not.toBe(a.id);
  });

  it('answers are keyed on name (any case), type and class; NODATA on name and class', () => {
    const answer = (name: string, type: string) =>
      rrlIdentity(response(name, type, AA, { answers: [{ name, type: type as 'A', ttl: 1, data: type === 'A' ? '192.0.2.1' : '2001:db8::1' }] }));
    expect(answer('www.example.test', 'A')).toEqual(answer('WWW.example.TEST', 'A'));
    expect(answer('www.example.test', 'A').kind).toBe(RrlKind.Response);
    expect(answer('www.example.test', 'A').id).not.toBe(answer('www.example.test', 'AAAA').id);
    const nodataMx = rrlIdentity(response('www.example.test', 'MX', AA, { authorities: [SOA('example.test')] }));
    const nodataTxt = rrlIdentity(response('www.example.test', 'TXT', AA, { authorities: [SOA('example.test')] }));
    expect(nodataMx.kind).toBe(RrlKind.Nodata);
    expect(nodataTxt).toEqual(nodataMx);
  });

  it('referrals are keyed on the delegation point; other rcodes are errors without a name', () => {
    const ref = (name: string) => rrlIdentity(response(name, 'A', 0, { authorities: [{ name: 'sub.example.test', type: 'NS', ttl: 1, data: 'ns.sub.example.test' }] }));
    expect(ref('a.sub.example.test')).toEqual(ref('b.sub.example.test'));
    expect(ref('a.sub.example.test').kind).toBe(RrlKind.Referral);
    expect(rrlIdentity(response('x.example.test', 'A', AA | 5, {}))).toEqual({ kind: RrlKind.Error, id: 0 });
    expect(rrlIdentity(response('x.example.test', 'A', 2, {}))).toEqual({ kind: RrlKind.Error, id: 0 });
  });

  it('refuses malformed messages with the byte offset', () => {
    const good = response('www.example.test', 'A', AA, { answers: [{ name: 'www.example.test', type: 'A', ttl: 1, data: '192.0.2.1' }] });
    expect(() => rrlIdentity(good.subarray(0, 20))).toThrow(/byte \d+: /);
    const loop = Buffer.from(good);
    loop.writeUInt16BE(0xc000 | 34, 34); // the answer's owner points at itself
    expect(() => rrlIdentity(loop)).toThrow(/compression pointer/);
  });
});

describe('reference model', () => {
  it('follows BIND: rate answers, then slip 2 alternates from the first limited reply', () => {
    const m = new RrlModel({ ...defaultRrlConfig(), responsesPerSecond: 3 });
    const id = { kind: RrlKind.Response, id: 7 };
    const seq = Array.from({ length: 9 }, () => m.decide('192.0.2.1', id, 100));
    expect(seq).toEqual(['allow', 'allow', 'allow', 'slip', 'drop', 'slip', 'drop', 'slip', 'drop']);
    expect(m.decide('192.0.2.1', id, 101)).toBe('slip'); // -6 + 3 still < 0
  });
});

describe('kernel HZ', () => {
});
