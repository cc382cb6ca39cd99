/**
 * DNSSEC answers from a pre-signed zone, on a small zone with stand-in signatures (named serves
 * them as data; test/zones/compare-bind-dnssec.test.ts checks real ones against named): which
 * RRSIGs go with which RRset, which NSEC records prove what, and the canonical name order that
 * finds them.
 */
import { parseZoneText } from '../zone/parse';
import { nameToWire } from '../zone/name';
import { typeName } from '../zone/types';
import { buildResponse, BuiltResponse, QueryBits, ServerOptions } from './build';
import { decodeMessage, DecodedRR } from './decode';
import { canonicalCompare, nsec3Hash } from './dnssec';

const SIG = (covered: string, labels: number) => `RRSIG ${covered} 13 ${labels} 300 20300101000000 20200101000000 1 s.test. AAAA`;

const SIGNED = `$TTL 300
@ SOA ns h 1 2 3 4 60
@ NS ns
@ DNSKEY 257 3 13 AQID
@ NSEC a.s.test. NS SOA RRSIG NSEC DNSKEY
@ ${SIG('SOA', 2)}
@ ${SIG('NS', 2)}
@ ${SIG('DNSKEY', 2)}
@ ${SIG('NSEC', 2)}
a A 192.0.2.1
a NSEC ns.s.test. A RRSIG NSEC
a ${SIG('A', 3)}
a ${SIG('NSEC', 3)}
ns A 192.0.2.53
ns NSEC z.s.test. A RRSIG NSEC
ns ${SIG('A', 3)}
ns ${SIG('NSEC', 3)}
z TXT "z"
z NSEC s.test. TXT RRSIG NSEC
z ${SIG('TXT', 3)}
z ${SIG('NSEC', 3)}
`;

const noIncludes = () => {
  throw new Error('no includes');
};
const zone = parseZoneText(SIGNED, 's.test', 'db', noIncludes);
const nsec3Zone = parseZoneText(`${SIGNED}@ NSEC3PARAM 1 0 0 -\n`, 's.test', 'db', noIncludes);
const OPTIONS: ServerOptions = { minimalResponses: 'no-auth-recursive', ednsUdpSize: 1232 };
const DO: QueryBits = { rd: false, edns: true, do: true, udpSize: 1232 };

function sections(r: BuiltResponse): Record<'answer' | 'authority' | 'additional', string[]> {
  if (!r.cacheable) throw new Error(`not cacheable: ${r.reason}`);
  const m = decodeMessage(r.wire);
  // An RRSIG is named by the type it covers: "a.s.test. RRSIG/A".
  const show = (rr: DecodedRR) => `${rr.name} ${typeName(rr.type)}${rr.type === 46 ? `/${typeName(rr.rdata.readUInt16BE(0))}` : ''} ${rr.ttl}`;
  return { answer: m.answer.map(show), authority: m.authority.map(show), additional: m.additional.map(show) };
}

describe('DNSSEC answers (DO=1) from a signed zone', () => {
  it('sends each RRset with the signatures that cover it, and only those', () => {
    expect(sections(buildResponse(zone, { name: 'a.s.test', type: 'A' }, DO, OPTIONS))).toEqual({
      answer: ['a.s.test. A 300', 'a.s.test. RRSIG/A 300'],
      authority: ['s.test. NS 300', 's.test. RRSIG/NS 300'],
      additional: ['ns.s.test. A 300', 'ns.s.test. RRSIG/A 300'],
    });
  });

  it('answers an RRSIG question with every covered type\'s signatures, each its own RRset', () => {
    expect(sections(buildResponse(zone, { name: 'a.s.test', type: 'RRSIG' }, { ...DO, rd: true }, OPTIONS)).answer).toEqual(['a.s.test. RRSIG/A 300', 'a.s.test. RRSIG/NSEC 300']);
  });

  it('sends no RRSIG without DO', () => {
    const r = sections(buildResponse(zone, { name: 'a.s.test', type: 'A' }, { ...DO, do: false }, OPTIONS));
    expect([...r.answer, ...r.authority, ...r.additional].filter((rr) => rr.includes('RRSIG'))).toEqual([]);
  });

  it('proves NXDOMAIN with the NSEC covering the name and the one covering the wildcard, each once', () => {
    // b.s.test sorts between a and ns; *.s.test between the apex and a.
    expect(sections(buildResponse(zone, { name: 'b.s.test', type: 'A' }, DO, OPTIONS)).authority).toEqual([
      's.test. SOA 60',
      's.test. RRSIG/SOA 60', // capped like the SOA: min(SOA TTL, minimum)
      's.test. NSEC 300',
      's.test. RRSIG/NSEC 300',
      'a.s.test. NSEC 300',
      'a.s.test. RRSIG/NSEC 300',
    ]);
    // Past the last name, z's NSEC (which wraps to the apex) covers the name; the apex's covers
    // the wildcard, and goes out with the apex's other records, as named groups them by owner.
    expect(sections(buildResponse(zone, { name: 'zz.s.test', type: 'A' }, DO, OPTIONS)).authority).toEqual([
      's.test. SOA 60',
      's.test. RRSIG/SOA 60',
      's.test. NSEC 300',
      's.test. RRSIG/NSEC 300',
      'z.s.test. NSEC 300',
      'z.s.test. RRSIG/NSEC 300',
    ]);
  });

  it('proves NODATA with the NSEC of the name itself', () => {
    expect(sections(buildResponse(zone, { name: 'a.s.test', type: 'TXT' }, DO, OPTIONS)).authority).toEqual([
      's.test. SOA 60',
      's.test. RRSIG/SOA 60',
      'a.s.test. NSEC 300',
      'a.s.test. RRSIG/NSEC 300',
    ]);
  });

  it('leaves to BIND what the NSEC3 chain named would use cannot prove (here: an NSEC3PARAM and no chain)', () => {
    expect(buildResponse(nsec3Zone, { name: 'b.s.test', type: 'A' }, DO, OPTIONS)).toMatchObject({ cacheable: false, reason: 'DNSSEC: no closest encloser proof' });
    expect(buildResponse(nsec3Zone, { name: 'a.s.test', type: 'TXT' }, DO, OPTIONS)).toMatchObject({ cacheable: false, reason: 'DNSSEC: no closest encloser proof' });
    expect(buildResponse(nsec3Zone, { name: 'a.s.test', type: 'A' }, DO, OPTIONS).cacheable).toBe(true);
  });
});

describe('canonicalCompare', () => {
  it('orders names as RFC 4034 section 6.1 does', () => {
    // The RFC's own example, in order.
    const ordered = ['example.', 'a.example.', 'yljkjljk.a.example.', 'Z.a.example.', 'zABC.a.EXAMPLE.', 'z.example.', '\\001.z.example.', '*.z.example.', '\\200.z.example.'];
    const wires = ordered.map((n) => nameToWire(n));
    const shuffled = [...wires].reverse();
    shuffled.sort(canonicalCompare);
    expect(shuffled.map((w) => w.toString('hex'))).toEqual(wires.map((w) => w.toString('hex')));
    expect(canonicalCompare(nameToWire('A.example.'), nameToWire('a.EXAMPLE.'))).toBe(0);
  });
});

describe('nsec3Hash', () => {
  it('matches RFC 5155 appendix A (salt aabbccdd, 12 iterations)', () => {
    const salt = Buffer.from('aabbccdd', 'hex');
    expect(nsec3Hash(nameToWire('example.'), 12, salt)).toBe('0p9mhaveqvm6t7vbl5lop2u3t2rp3tom');
    expect(nsec3Hash(nameToWire('a.example.'), 12, salt)).toBe('35mthgpgcu1qg68fab165klnsnk3dpvl');
    expect(nsec3Hash(nameToWire('NS1.Example.'), 12, salt)).toBe('2t7b4g4vsa5smi47k61mv5bv1a22bojr');
  });
});
