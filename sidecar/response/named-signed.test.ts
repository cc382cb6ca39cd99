/**
 * What is built for a zone named signs itself: the refusals, on a small zone. That the answers it
 * does build equal named's own is checked against a real named signing with dnssec-policy in
 * test/zones/compare-bind-inline-signing.test.ts.
 */
import { parseZoneText } from '../zone/parse';
import { buildResponse, type QueryBits, type ServerOptions } from './build';
import { buildForNamedSigner, builderFor } from './named-signed';

const zone = parseZoneText(
  `$TTL 300
@ SOA ns1 hostmaster 1 3600 600 86400 60
@ NS ns1
@ DNSKEY 257 3 13 ${Buffer.alloc(64, 1).toString('base64')}
ns1 A 192.0.2.1
www A 192.0.2.80
alias CNAME www
dangling CNAME nowhere
sub NS ns.sub
ns.sub A 192.0.2.53
`,
  'example.test',
  'db',
  () => {
    throw new Error('no includes');
  },
);
const SERVER: ServerOptions = { minimalResponses: 'no-auth-recursive', ednsUdpSize: 1232 };
const PLAIN: QueryBits = { rd: false, edns: true, do: false };

describe('buildForNamedSigner', () => {
  it('builds DO=0 data, CNAME chains to data and referrals exactly as for an unsigned zone', () => {
    for (const [name, type] of [['www.example.test', 'A'], ['alias.example.test', 'A'], ['x.sub.example.test', 'A'], ['example.test', 'NS']]) {
      const signer = buildForNamedSigner(zone, { name, type }, PLAIN, SERVER);
      const plain = buildResponse(zone, { name, type }, PLAIN, SERVER);
      expect(signer.cacheable).toBe(true);
      expect(signer).toEqual(plain);
    }
  });

  it('refuses DO=1: the answer would carry named’s signatures', () => {
    expect(buildForNamedSigner(zone, { name: 'www.example.test', type: 'A' }, { ...PLAIN, do: true }, SERVER)).toEqual({
      cacheable: false,
      reason: 'named signs this zone: a DO=1 answer carries its signatures',
    });
  });

  it.each(['DNSKEY', 'CDS', 'CDNSKEY', 'RRSIG', 'NSEC', 'NSEC3', 'NSEC3PARAM', 'TYPE65534'])('refuses %s questions, whose records named manages', (type) => {
    expect(buildForNamedSigner(zone, { name: 'example.test', type }, PLAIN, SERVER)).toEqual({
      cacheable: false,
      reason: 'named signs this zone: it manages the records of this type',
    });
  });

  it.each([
    ['the SOA itself', 'example.test', 'SOA'],
    ['NODATA', 'www.example.test', 'TXT'],
    ['NXDOMAIN', 'nothere.example.test', 'A'],
    ['a CNAME chain that ends in NXDOMAIN', 'dangling.example.test', 'A'],
  ])('refuses an answer with the SOA in it (%s): named sets the serial', (_what, name, type) => {
    expect(buildResponse(zone, { name, type }, PLAIN, SERVER).cacheable).toBe(true);
    expect(buildForNamedSigner(zone, { name, type }, PLAIN, SERVER)).toEqual({
      cacheable: false,
      reason: "named signs this zone: the answer carries the SOA, whose serial named's signer sets",
    });
  });

  it('is chosen by the zone configuration', () => {
    expect(builderFor(true)).toBe(buildForNamedSigner);
    expect(builderFor(false)).toBe(buildResponse);
    expect(builderFor(undefined)).toBe(buildResponse);
  });
});
