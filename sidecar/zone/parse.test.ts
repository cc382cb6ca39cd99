import * as dnsPacket from 'dns-packet';
import { parseZoneText, ZoneParseError, IncludeResolver } from './parse';
import { Zone } from './model';
import { nameKey, nameFromWire, parseName } from './name';
import { T, typeCode } from './types';

const HEAD = '$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.1\n';
const noIncludes: IncludeResolver = (p) => {
  throw new Error(`no such file ${p}`);
};

function zone(body: string, includes: Record<string, string> = {}): Zone {
  return parseZoneText(HEAD + body, 'example.test', 'db.example', (p) => {
    if (!(p in includes)) throw new Error('ENOENT');
    return { file: p, text: includes[p] };
  });
}

function rdata(z: Zone, owner: string, type: string): Buffer[] {
  const set = z.rrset(nameKey(owner), typeCode(type) as number);
  if (!set) throw new Error(`no ${type} at ${owner}`);
  return [...set.rdata];
}

/** Decodes one RDATA with dns-packet (an independent decoder) for readable expectations. */
function decoded(z: Zone, owner: string, type: string): unknown[] {
  return rdata(z, owner, type).map((r) => {
    const len = Buffer.alloc(2);
    len.writeUInt16BE(r.length);
    return (dnsPacket as unknown as { record(t: string): { decode(b: Buffer): unknown } }).record(type).decode(Buffer.concat([len, r]));
  });
}

function expectError(body: string, line: number, message: RegExp, includes: Record<string, string> = {}) {
  let error: unknown;
  try {
    zone(body, includes);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(ZoneParseError);
  const e = error as ZoneParseError;
  expect(`${e.file}:${e.line}`).toBe(line === 0 ? 'db.example:0' : `${e.file}:${line}`);
  expect(e.message).toMatch(message);
  return e;
}

describe('zone file syntax', () => {
  it('handles $ORIGIN, @, relative and absolute names, and inherited owners', () => {
    const z = zone('$ORIGIN sub.example.test.\nwww A 192.0.2.2\n  A 192.0.2.3\n@ TXT "at sub"\nabs.example.test. A 192.0.2.4\n');
    expect(rdata(z, 'www.sub.example.test.', 'A')).toHaveLength(2);
    expect(rdata(z, 'sub.example.test.', 'TXT')).toHaveLength(1);
    expect(rdata(z, 'abs.example.test.', 'A')).toEqual([Buffer.from([192, 0, 2, 4])]);
  });

  it('reads TTL and class in either order, TTL units, $TTL and the previous-TTL rule', () => {
    const z = zone('a 60 IN A 192.0.2.1\nb IN 1h30m A 192.0.2.2\nc A 192.0.2.3\n$TTL 1w\nd A 192.0.2.4\n');
    expect(z.rrset('a.example.test.', T.A)?.ttl).toBe(60);
    expect(z.rrset('b.example.test.', T.A)?.ttl).toBe(5400);
    expect(z.rrset('c.example.test.', T.A)?.ttl).toBe(300);
    expect(z.rrset('d.example.test.', T.A)?.ttl).toBe(604800);
  });

  it('without $TTL uses the last explicit TTL, else the SOA minimum', () => {
    const z = parseZoneText('@ SOA ns1 h 1 2 3 4 77\n@ 10 NS ns1\nns1 A 192.0.2.1\n', 'x.test.', 'db.x', noIncludes);
    expect(z.soa.ttl).toBe(77);
    expect(z.rrset('ns1.x.test.', T.A)?.ttl).toBe(10);
  });

  it('joins parenthesised lines and drops comments', () => {
    const z = zone('multi ( 3600 ; ttl\n  IN\n  TXT "one" ; first\n "two;not a comment" )\n');
    expect(decoded(z, 'multi.example.test.', 'TXT')).toEqual([[Buffer.from('one'), Buffer.from('two;not a comment')]]);
  });

  it('decodes \\" and \\DDD in strings and names', () => {
    const z = zone('t TXT "say \\"hi\\"" "\\065\\066C" plain\\032word\nweird\\.dot A 192.0.2.9\n\\065bc A 192.0.2.8\n');
    expect(decoded(z, 't.example.test.', 'TXT')).toEqual([[Buffer.from('say "hi"'), Buffer.from('ABC'), Buffer.from('plain word')]]);
    expect(z.node('weird\\.dot.example.test.')?.name).toBe('weird\\.dot.example.test.');
    expect(z.node('abc.example.test.')?.name).toBe('Abc.example.test.');
  });

  it('reads RFC 3597 generic types and generic forms of known types', () => {
    const z = zone('g TYPE65000 \\# 3 abcdef\nh TYPE1 \\# 4 c0000201\ne TYPE99 \\# 0\n');
    expect(rdata(z, 'g.example.test.', 'TYPE65000')).toEqual([Buffer.from('abcdef', 'hex')]);
    expect(rdata(z, 'h.example.test.', 'A')).toEqual([Buffer.from([192, 0, 2, 1])]);
    expect(rdata(z, 'e.example.test.', 'SPF')).toEqual([Buffer.alloc(0)]);
  });

  it('follows $INCLUDE with and without an origin and restores the parent origin', () => {
    const z = zone('$INCLUDE inc.db sub\nafter A 192.0.2.7\n$INCLUDE plain.db\n', { 'inc.db': 'x A 192.0.2.5\n@ TXT "sub apex"\n', 'plain.db': 'y A 192.0.2.6\n' });
    expect(rdata(z, 'x.sub.example.test.', 'A')).toHaveLength(1);
    expect(rdata(z, 'sub.example.test.', 'TXT')).toHaveLength(1);
    expect(rdata(z, 'after.example.test.', 'A')).toHaveLength(1);
    expect(rdata(z, 'y.example.test.', 'A')).toHaveLength(1);
  });

  it('expands $GENERATE with offsets, widths and bases', () => {
    const z = zone('$GENERATE 1-3 host$ A 192.0.2.$\n$GENERATE 10-12/2 ${-9,3,d}.ptr PTR h${0,2,x}\n$GENERATE 26-26 n${0,4,n} CNAME x\\$\n');
    expect(rdata(z, 'host3.example.test.', 'A')).toEqual([Buffer.from([192, 0, 2, 3])]);
    expect(nameFromWire(rdata(z, '001.ptr.example.test.', 'PTR')[0], 0).name).toBe('h0a.example.test.');
    expect(nameFromWire(rdata(z, '003.ptr.example.test.', 'PTR')[0], 0).name).toBe('h0c.example.test.');
    expect(nameFromWire(rdata(z, 'na.1.example.test.', 'CNAME')[0], 0).name).toBe('x\\$.example.test.');
  });

  it('encodes every listed type as an independent decoder reads it', () => {
    const z = zone(
      [
        'all AAAA 2001:db8::1:2',
        'all MX 10 mail',
        'all SRV 1 2 443 target.other.',
        'all CAA 0 issue "ca.example.net; account=1"',
        'all NAPTR 100 10 "U" "E2U+sip" "!^.*$!sip:info@example.test!" .',
        'all DS 12345 13 2 ( 0123456789abcdef0123456789abcdef 0123456789abcdef0123456789abcdef )',
        'all DNSKEY 257 3 13 AQID BAUG',
        'all RRSIG A 13 3 300 20300101000000 20200101000000 12345 example.test. AQIDBA==',
        'all NSEC next.example.test. A NS SOA TYPE1234',
        'all NSEC3 1 0 10 aabbcc 2T7B4G4VSA5SMI47K61MV5BV1A22BOJR A RRSIG',
        'all NSEC3PARAM 1 0 10 -',
        'all TLSA 3 1 1 ( abcdef01 )',
        'all SSHFP 4 2 0123456789abcdef',
        'all PTR ptr.target.',
        'cn CNAME all',
        'dn DNAME other.test.',
        'all HTTPS 1 . alpn="h2,h3" port=8443 ipv4hint=192.0.2.1,192.0.2.2 ipv6hint=2001:db8::1',
        'all SVCB 0 svc.example.net.',
      ].join('\n') + '\n',
    );
    expect(decoded(z, 'all.example.test.', 'AAAA')).toEqual(['2001:db8::1:2']);
    expect(decoded(z, 'all.example.test.', 'MX')).toEqual([{ preference: 10, exchange: 'mail.example.test' }]);
    expect(decoded(z, 'all.example.test.', 'SRV')).toEqual([{ priority: 1, weight: 2, port: 443, target: 'target.other' }]);
    expect(decoded(z, 'all.example.test.', 'CAA')).toEqual([{ flags: 0, tag: 'issue', value: 'ca.example.net; account=1', issuerCritical: false }]);
    expect(decoded(z, 'all.example.test.', 'NAPTR')).toEqual([{ order: 100, preference: 10, flags: 'U', services: 'E2U+sip', regexp: '!^.*$!sip:info@example.test!', replacement: '.' }]);
    expect(decoded(z, 'all.example.test.', 'DS')).toEqual([{ keyTag: 12345, algorithm: 13, digestType: 2, digest: Buffer.from('0123456789abcdef'.repeat(4), 'hex') }]);
    expect(decoded(z, 'all.example.test.', 'DNSKEY')).toEqual([{ flags: 257, algorithm: 13, key: Buffer.from([1, 2, 3, 4, 5, 6]) }]);
    expect(decoded(z, 'all.example.test.', 'RRSIG')).toEqual([
      { typeCovered: 'A', algorithm: 13, labels: 3, originalTTL: 300, expiration: 1893456000, inception: 1577836800, keyTag: 12345, signersName: 'example.test', signature: Buffer.from([1, 2, 3, 4]) },
    ]);
    expect(decoded(z, 'all.example.test.', 'NSEC')).toEqual([{ nextDomain: 'next.example.test', rrtypes: ['A', 'NS', 'SOA', 'UNKNOWN_1234'] }]);
    const nsec3 = decoded(z, 'all.example.test.', 'NSEC3')[0] as { salt: Buffer; nextDomain: Buffer; rrtypes: string[]; iterations: number };
    expect(nsec3.salt).toEqual(Buffer.from('aabbcc', 'hex'));
    expect(nsec3.nextDomain).toHaveLength(20);
    expect(nsec3.rrtypes).toEqual(['A', 'RRSIG']);
    expect(nsec3.iterations).toBe(10);
    expect(rdata(z, 'all.example.test.', 'NSEC3PARAM')).toEqual([Buffer.from('0100000a00', 'hex')]);
    expect(decoded(z, 'all.example.test.', 'TLSA')).toEqual([{ usage: 3, selector: 1, matchingType: 1, certificate: Buffer.from('abcdef01', 'hex') }]);
    expect(decoded(z, 'all.example.test.', 'SSHFP')).toEqual([{ algorithm: 4, hash: 2, fingerprint: '0123456789ABCDEF' }]);
    expect(decoded(z, 'all.example.test.', 'PTR')).toEqual(['ptr.target']);
    expect(decoded(z, 'dn.example.test.', 'DNAME')).toEqual(['other.test']);
    // SVCB/HTTPS: dns-packet has no decoder; RFC 9460 appendix D layout checked by hand.
    expect(rdata(z, 'all.example.test.', 'HTTPS')[0].toString('hex')).toBe(
      '0001' + '00' + '0001' + '0006' + '026832' + '026833' + '0003' + '0002' + '20fb' + '0004' + '0008' + 'c0000201c0000202' + '0006' + '0010' + '20010db8000000000000000000000001',
    );
    expect(rdata(z, 'all.example.test.', 'SVCB')[0].toString('hex')).toBe('0000' + '03737663076578616d706c65036e657400');
  });

  it('builds the structure lookups need', () => {
    const z = zone('sub NS ns.sub\nns.sub A 192.0.2.53\n*.wild A 192.0.2.99\na.b.c A 192.0.2.7\n');
    expect([...z.delegations]).toEqual(['sub.example.test.']);
    expect([...z.wildcards]).toEqual(['*.wild.example.test.']);
    expect([...z.emptyNonTerminals].sort()).toEqual(['b.c.example.test.', 'c.example.test.', 'wild.example.test.']);
    expect(z.exists('c.example.test.')).toBe(true);
    expect(z.signed).toBe(false);
  });

  it('sorts RRsets in canonical order and drops duplicates', () => {
    const z = zone('m A 192.0.2.3\nm A 192.0.2.1\nm A 192.0.2.3\nm A 192.0.2.2\n');
    expect(rdata(z, 'm.example.test.', 'A').map((r) => r[3])).toEqual([1, 2, 3]);
  });

  it('warns about and ignores out-of-zone data, and unifies RRset TTLs', () => {
    const z = zone('elsewhere.test. A 192.0.2.1\nt 10 A 192.0.2.1\nt 20 A 192.0.2.2\n');
    expect(z.node('elsewhere.test.')).toBeUndefined();
    expect(z.rrset('t.example.test.', T.A)?.ttl).toBe(10);
    expect(z.warnings.map((w) => `${w.line}:${w.message}`)).toEqual([expect.stringMatching(/^5:ignoring out-of-zone/), expect.stringMatching(/^7:TTL 20 differs/)]);
  });

  it('parses names the way BIND prints them', () => {
    expect(parseName('A\\097\\.b', 'x.')).toBe('Aa\\.b.x.');
    expect(parseName('@', 'x.')).toBe('x.');
    expect(parseName('y.', 'x.')).toBe('y.');
    expect(parseName('\\(x\\)', '.')).toBe('\\(x\\).');
  });
});

describe('zone file errors name the file and line', () => {
  it.each<[string, number, RegExp]>([
    ['bad A 192.0.2\n', 5, /A record for bad.example.test.: bad IPv4 address '192.0.2'/],
    ['bad AAAA 2001:db8::g\n', 5, /bad IPv6 address/],
    ['bad WHAT 1\n', 5, /unknown RR type 'WHAT'/],
    ['bad CH A 192.0.2.1\n', 5, /class CH does not match the zone's class IN/],
    ['bad MX mail\n', 5, /MX record for bad.example.test.: preference: expected a number/],
    ['bad MX 10\n', 5, /missing exchange/],
    ['bad A 192.0.2.1 extra\n', 5, /unexpected extra field 'extra'/],
    ['bad TXT "unterminated\n', 5, /quoted string is never closed/],
    ['bad ( TXT "x"\n', 5, /'\(' is never closed/],
    ['bad TXT "x" )\n', 5, /'\)' without '\('/],
    ['  A 192.0.2.1\n$ORIGIN x.example.test.\nfoo..bar A 192.0.2.1\n', 7, /empty label/],
    [`${'a'.repeat(64)} A 192.0.2.1\n`, 5, /label longer than 63 bytes/],
    ['bad TYPE65000 \\# 3 abcd\n', 5, /RFC 3597 length 3 does not match 2 bytes/],
    ['bad TYPE65000 \\# x\n', 5, /needs a decimal length/],
    ['bad LOC 1 2 3\n', 5, /no supported text form here: use RFC 3597/],
    ['bad TXT "\\999"\n', 5, /bad escape \\999/],
    ['bad TXT "' + 'x'.repeat(256) + '"\n', 5, /longer than 255 bytes/],
    ['bad DS 1 2 3 xyz\n', 5, /digest: bad hexadecimal/],
    ['bad DNSKEY 257 3 13 !!!!\n', 5, /public key: bad base64/],
    ['bad RRSIG A 13 3 300 20301301000000 2020 1 example.test. AQID\n', 5, /bad signature time '20301301000000'/],
    ['bad HTTPS 1 . foo=bar\n', 5, /unknown SvcParamKey 'foo'/],
    ['bad HTTPS 1 . port=1 port=2\n', 5, /duplicate SvcParamKey/],
    ['bad CAA 0 is-sue "x"\n', 5, /bad CAA tag/],
    ['bad 99999999999 A 192.0.2.1\n', 5, /out of range/],
    ['$TTL\n', 5, /\$TTL needs exactly one value/],
    ['$TTL forever\n', 5, /\$TTL: bad time value 'forever'/],
    ['$ORIGIN\n', 5, /\$ORIGIN needs exactly one name/],
    ['$FOO bar\n', 5, /unknown directive \$FOO/],
    ['$INCLUDE missing.db\n', 5, /cannot read \$INCLUDE file 'missing.db'/],
    ['$GENERATE 5-1 x$ A 192.0.2.$\n', 5, /\$GENERATE: bad range '5-1'/],
    ['$GENERATE 1-2 x$ A\n', 5, /A record for x1.example.test.: missing IPv4 address/],
    ['$GENERATE 1-2 x$\n', 5, /\$GENERATE: needs a range/],
    ['$GENERATE a-b x$ A 1.2.3.$\n', 5, /\$GENERATE: bad range 'a-b'/],
    ['$GENERATE 1-2 x${1,2,q} A 1.2.3.$\n', 5, /bad modifier/],
    // Found by fuzzing: a width of hundreds of digits threw a RangeError from padStart.
    ['$GENERATE 1-2 x${1,99999999999,x} A 1.2.3.$\n', 5, /\$GENERATE: width over 255 in '\$\{1,99999999999,x\}'/],
    ['$GENERATE 1-2 x${99999999999} A 1.2.3.$\n', 5, /\$GENERATE: offset out of range/],
    ['$GENERATE 1-300 x$ A 192.0.2.$\n', 5, /bad IPv4 address '192.0.2.256'/],
    ['c CNAME a\nc A 192.0.2.1\n', 6, /CNAME and other data at c.example.test. \(A\)/],
    ['c CNAME a\nc CNAME b\n', 6, /more than one CNAME/],
    ['d DNAME a.\nd DNAME b.\n', 6, /more than one DNAME/],
    ['sub SOA a b 1 2 3 4 5\n', 5, /not at the top of the zone/],
    ['@ SOA a b 2 2 3 4 5\n', 5, /more than one SOA/],
    ['sub NS ns.sub\n', 5, /NS 'ns.sub.example.test.' of sub.example.test. is inside zone .* no address records/],
    ['bad NS\n', 5, /missing target name/],
    ['bad\n', 5, /record for bad.example.test. has no type/],
  ])('%j -> line %d', (body, line, message) => {
    expectError(body, line, message);
  });

  it('reports errors inside an $INCLUDE with the included file name', () => {
    const e = expectError('$INCLUDE inc.db\n', 2, /bad IPv4/, { 'inc.db': 'ok A 192.0.2.1\nbad A 300.1.1.1\n' });
    expect(e.file).toBe('inc.db');
  });

  it('refuses a zone without SOA or NS at the apex, and a record with no TTL source', () => {
    expect(() => parseZoneText('www A 192.0.2.1\n', 'x.test', 'db.x', noIncludes)).toThrow(/db.x:1: no TTL specified/);
    expect(() => parseZoneText('$TTL 1\nwww A 192.0.2.1\n', 'x.test', 'db.x', noIncludes)).toThrow(/db.x:0: zone x.test. has no SOA/);
    expect(() => parseZoneText('$TTL 1\n@ SOA a b 1 2 3 4 5\n', 'x.test', 'db.x', noIncludes)).toThrow(/db.x:2: zone x.test. has no NS records/);
  });

  it('stops $INCLUDE loops', () => {
    expect(() => zone('$INCLUDE self.db\n', { 'self.db': '$INCLUDE self.db\n' })).toThrow(/nested deeper than 20/);
  });
});
