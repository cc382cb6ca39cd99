/**
 * Pure tests of the builder's refusals and options that the BIND comparison (test/zones) does
 * not reach with named's defaults, and of verify/decode on crafted messages.
 */
import { parseZoneText } from '../zone/parse';
import { Zone } from '../zone/model';
import { buildResponse, BuiltResponse, QueryBits, ServerOptions } from './build';
import { decodeMessage, DecodeError } from './decode';
import { verifyResponse } from './verify';

const ZONE = `$TTL 300
@ SOA ns1 hostmaster 1 3600 600 86400 60
@ NS ns1
ns1 A 192.0.2.1
www A 192.0.2.80
mx MX 10 www
loop1 CNAME loop2
loop2 CNAME loop1
long DNAME ${'x'.repeat(63)}.${'y'.repeat(63)}.${'z'.repeat(63)}.test.
`;

const zone: Zone = parseZoneText(ZONE, 'example.test', 'db', () => {
  throw new Error('no includes');
});
const DEFAULTS: ServerOptions = { minimalResponses: 'no-auth-recursive', ednsUdpSize: 1232 };
const RD0: QueryBits = { rd: false, edns: false, do: false };

function built(r: BuiltResponse): Buffer {
  if (!r.cacheable) throw new Error(`not cacheable: ${r.reason}`);
  return r.wire;
}

function counts(wire: Buffer): number[] {
  return [wire.readUInt16BE(4), wire.readUInt16BE(6), wire.readUInt16BE(8), wire.readUInt16BE(10)];
}

describe('buildResponse', () => {
  it('answers with AA, copies RD and CD, never sets RA', () => {
    const w = built(buildResponse(zone, { name: 'www.example.test', type: 'A' }, { rd: true, cd: true, edns: false, do: false }, DEFAULTS));
    expect(w.readUInt16BE(0)).toBe(0);
    expect(w.readUInt16BE(2)).toBe(0x8000 | 0x0400 | 0x0100 | 0x0010);
  });

  it('honours every minimal-responses setting', () => {
    const q = { name: 'mx.example.test', type: 'MX' };
    const run = (minimalResponses: ServerOptions['minimalResponses'], rd: boolean) => counts(built(buildResponse(zone, q, { rd, edns: false, do: false }, { ...DEFAULTS, minimalResponses })));
    // answer, authority (apex NS), additional (www A for the MX, ns1 A for the NS)
    expect(run('no', true)).toEqual([1, 1, 1, 2]);
    expect(run('no-auth-recursive', false)).toEqual([1, 1, 1, 2]);
    expect(run('no-auth-recursive', true)).toEqual([1, 1, 0, 1]);
    expect(run('no-auth', false)).toEqual([1, 1, 0, 1]);
    expect(run('yes', false)).toEqual([1, 1, 0, 0]);
    const ns = counts(built(buildResponse(zone, { name: 'example.test', type: 'NS' }, RD0, { ...DEFAULTS, minimalResponses: 'yes' })));
    expect(ns).toEqual([1, 1, 0, 1]);
  });

  it('adds an OPT with the configured size and echoes DO', () => {
    const w = built(buildResponse(zone, { name: 'www.example.test', type: 'A' }, { rd: false, edns: true, do: true }, { ...DEFAULTS, ednsUdpSize: 4096 }));
    const m = decodeMessage(w);
    expect(m.opt).toEqual({ udpSize: 4096, extendedRcode: 0, version: 0, flags: 0x8000, options: Buffer.alloc(0) });
  });

  it.each<[string, { name: string; type: string | number; class?: string }, QueryBits, RegExp]>([
    ['ANY', { name: 'www.example.test', type: 'ANY' }, RD0, /ANY answers/],
    ['AXFR', { name: 'example.test', type: 'AXFR' }, RD0, /zone transfers/],
    ['another zone', { name: 'www.example.org', type: 'A' }, RD0, /not in zone example.test./],
    ['class CH', { name: 'www.example.test', type: 'A', class: 'CH' }, RD0, /not the zone's class/],
    ['an unknown type name', { name: 'www.example.test', type: 'BOGUS' }, RD0, /unknown query type/],
    ['a bad name', { name: 'a..example.test', type: 'A' }, RD0, /bad question name: empty label/],
    ['a CNAME loop', { name: 'loop1.example.test', type: 'A' }, RD0, /CNAME loop/],
    ['a DNAME result over 255 bytes', { name: `${'w'.repeat(63)}.long.example.test`, type: 'A' }, RD0, /YXDOMAIN/],
  ])('refuses %s with a reason', (_what, q, bits, reason) => {
    const r = buildResponse(zone, q, bits, DEFAULTS);
    expect(r.cacheable).toBe(false);
    if (!r.cacheable) expect(r.reason).toMatch(reason);
  });

  it('refuses answers larger than the client or server UDP limit', () => {
    const big = parseZoneText(`$TTL 1\n@ SOA a b 1 2 3 4 5\n@ NS a\na A 192.0.2.1\n${Array.from({ length: 25 }, (_, i) => `t TXT "${'x'.repeat(20)}${i}"`).join('\n')}\n`, 'big.test', 'db', () => {
      throw new Error('none');
    });
    const q = { name: 't.big.test', type: 'TXT' };
    expect(buildResponse(big, q, RD0, DEFAULTS)).toMatchObject({ cacheable: false, reason: expect.stringMatching(/more than the 512 bytes/) });
    expect(buildResponse(big, q, { rd: false, edns: true, do: false, udpSize: 600 }, DEFAULTS)).toMatchObject({ cacheable: false, reason: expect.stringMatching(/more than the 600 bytes/) });
    expect(buildResponse(big, q, { rd: false, edns: true, do: false, udpSize: 4096 }, DEFAULTS)).toMatchObject({ cacheable: true, limit: 1232 });
    expect(buildResponse(big, q, { rd: false, edns: true, do: false, udpSize: 100 }, DEFAULTS)).toMatchObject({ cacheable: false, reason: expect.stringMatching(/more than the 512 bytes/) });
  });

  it('trims an additional section that does not fit as named does, and keeps the whole answer for TCP', () => {
    const ns = Array.from({ length: 15 }, (_, i) => `@ NS ns${i}\nns${i} A 192.0.2.${i + 1}`).join('\n');
    const many = parseZoneText(`$TTL 60\n@ SOA ns0 h 1 2 3 4 5\n${ns}\n`, 'glue.test', 'db', () => {
      throw new Error('none');
    });
    const r = buildResponse(many, { name: 'glue.test', type: 'NS' }, RD0, DEFAULTS);
    if (!r.cacheable || !r.complete) throw new Error(`expected a trimmed answer: ${JSON.stringify(r)}`);
    expect(r.wire.length).toBeLessThanOrEqual(512);
    expect(r.wire.readUInt16BE(2) & 0x0200).toBe(0); // no TC: only additional records were left out
    const [, an, , ar] = counts(r.wire);
    expect(an).toBe(15);
    expect(ar).toBeGreaterThan(0);
    expect(ar).toBeLessThan(15);
    // The records kept are the whole answer's first ones, byte for byte.
    expect(counts(r.complete)).toEqual([1, 15, 0, 15]);
    expect(r.complete.subarray(12, r.wire.length).equals(r.wire.subarray(12))).toBe(true);
    // With room for everything nothing is trimmed.
    const roomy = buildResponse(many, { name: 'glue.test', type: 'NS' }, { rd: false, edns: true, do: false, udpSize: 1232 }, DEFAULTS);
    expect(roomy).toMatchObject({ cacheable: true });
    expect(roomy.cacheable && roomy.complete).toBeUndefined();
  });

  it('answers DO=1 and AD=1 in signed zones too, with AD clear (named never sets it on authoritative data)', () => {
    const signed = parseZoneText('$TTL 1\n@ SOA a b 1 2 3 4 5\n@ NS a\na A 192.0.2.1\n@ DNSKEY 257 3 13 AQID\n', 's.test', 'db', () => {
      throw new Error('none');
    });
    const ad = built(buildResponse(signed, { name: 'a.s.test', type: 'A' }, { rd: false, edns: false, do: false, ad: true }, DEFAULTS));
    expect(ad.readUInt16BE(2) & 0x0020).toBe(0);
    expect(buildResponse(signed, { name: 'a.s.test', type: 'A' }, { rd: false, edns: true, do: true }, DEFAULTS).cacheable).toBe(true);
    expect(buildResponse(zone, { name: 'www.example.test', type: 'A' }, { rd: false, edns: true, do: true }, DEFAULTS).cacheable).toBe(true);
  });

  it('keeps the question exactly as asked, case included, and the zone case in answers', () => {
    const w = built(buildResponse(zone, { name: 'WwW.Example.TEST.', type: 1 }, RD0, DEFAULTS));
    const m = decodeMessage(w);
    expect(m.question[0].name).toBe('WwW.Example.TEST.');
    expect(m.answer[0].name).toBe('www.example.test.');
  });
});

describe('verifyResponse and decodeMessage', () => {
  const ours = built(buildResponse(zone, { name: 'mx.example.test', type: 'MX' }, RD0, DEFAULTS));

  it('accepts an identical response with another ID', () => {
    const theirs = Buffer.from(ours);
    theirs.writeUInt16BE(0x1234, 0);
    expect(verifyResponse(ours, theirs)).toEqual({ mismatches: [], byteIdentical: true, identicalExceptOrder: true });
  });

  it('names each difference', () => {
    const theirs = Buffer.from(ours);
    theirs[3] = (theirs[3] & 0xf0) | 3; // NXDOMAIN
    theirs[2] &= ~0x04; // AA off
    const r = verifyResponse(ours, theirs);
    expect(r.mismatches).toEqual(['rcode: ours 0, BIND 3', 'flag AA: ours 1, BIND 0']);
    expect(r.byteIdentical).toBe(false);
  });

  it('finds a changed RDATA byte and reports it by section', () => {
    const theirs = Buffer.from(ours);
    const i = theirs.indexOf(Buffer.from([192, 0, 2, 80]));
    theirs[i + 3] = 81;
    expect(verifyResponse(ours, theirs).mismatches).toEqual([
      'additional: only ours has www.example.test. 300 IN A c0000250',
      'additional: only BIND has www.example.test. 300 IN A c0000251',
    ]);
  });

  it('reports malformed input instead of throwing', () => {
    expect(verifyResponse(ours, ours.subarray(0, 20)).mismatches[0]).toMatch(/BIND's response does not decode: malformed DNS message at byte 15: label runs past the end/);
    expect(() => decodeMessage(Buffer.alloc(5))).toThrow(DecodeError);
    const forward = Buffer.from(ours);
    const answerOwner = ours.indexOf(0, 12) + 5; // after the question's name, type and class
    forward.writeUInt16BE(0xc000 | 200, answerOwner);
    expect(() => decodeMessage(forward)).toThrow(`malformed DNS message at byte ${answerOwner}: compression pointer does not point backwards`);
    expect(() => decodeMessage(Buffer.concat([ours, Buffer.from([0])]))).toThrow(/1 bytes after the last record/);
  });
});
