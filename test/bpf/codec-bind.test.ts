/**
 * The cache codec against real BIND 9 responses (zones-example/): every response BIND gives
 * over UDP must either encode, or be refused for a reason the program really cannot replay
 * (a truncated answer). And the reply the program would build from that entry for the same
 * question in another 0x20 case, with another ID and CD set, must be what BIND itself answers
 * to that query: the same header, the query's question bytes exactly, the same records.
 *
 * Not byte for byte, and this test documents why. BIND 9.18 rotates the order of records
 * inside an RRset between responses, and its name compression depends on the query's case: to
 * "ExAmPlE.tEsT" it answered with an owner spelled "example" (the zone's case) plus a pointer to
 * the question's "tEsT", where for the lower-case query the whole owner was a pointer to 12.
 * The program replays the latter, so its owner names echo the query's case.
 * DNS names compare case-insensitively (RFC 4343) and resolvers check 0x20 only in the
 * question, so both are the same answer; records are compared with names lower-cased and
 * each section sorted.
 */
import { join } from 'path';
import { requireRoot } from '../support/require-root';
import { BindServer, startBind } from '../support/bind';
import { buildQuery, query, QuestionSpec } from '../support/dns-client';
import { cacheEntry, decodeCacheValue, keyFlags, QueryBits } from '../../sidecar/bpf/codec';
import { emulateReply } from './emulate';
import { REPO } from './setup';
import { randomCase, seededRandom } from './wire';
import * as dnsPacket from 'dns-packet';
import type { RecordType } from 'dns-packet';

const ZONES = join(REPO, 'zones-example');

const QUESTIONS: Array<[string, RecordType]> = [
  ['example.test', 'SOA'],
  ['example.test', 'NS'],
  ['example.test', 'MX'],
  ['example.test', 'TXT'],
  ['example.test', 'CAA'],
  ['ns1.example.test', 'A'],
  ['ns1.example.test', 'AAAA'],
  ['www.example.test', 'A'],
  ['www.example.test', 'MX'], // NODATA
  ['mixedcase.example.test', 'A'],
  ['alias.example.test', 'A'],
  ['chain1.example.test', 'A'],
  ['out.example.test', 'A'],
  ['gone.example.test', 'A'],
  ['dangling.example.test', 'A'],
  ['host.old.example.test', 'A'], // DNAME synthesis
  ['x.legacy.example.test', 'A'],
  ['anything.wild.example.test', 'A'],
  ['anything.wild.example.test', 'TXT'],
  ['abc.cw.example.test', 'A'],
  ['z.x.y.deep.example.test', 'A'],
  ['deep.example.test', 'A'], // empty non-terminal
  ['nonexistent.example.test', 'A'], // NXDOMAIN
  ['www.sub.example.test', 'A'], // referral with glue
  ['sub.example.test', 'DS'],
  ['www.ext.example.test', 'A'],
  ['_sip._udp.example.test', 'SRV'],
  ['_xmpp._tcp.example.test', 'SRV'],
  ['txt.example.test', 'TXT'],
  ['big.example.test', 'TXT'],
  ['huge.example.test', 'TXT'],
  ['types.example.test', 'NAPTR'],
  ['types.example.test', 'RP'],
  ['types.example.test', 'AFSDB'],
  ['types.example.test', 'PTR'],
  ['types.example.test', 'UNKNOWN_65' as RecordType], // HTTPS: dns-packet has no mnemonic
  ['types.example.test', 'UNKNOWN_64' as RecordType], // SVCB
  ['dyn7.example.test', 'A'],
  ['signed.test', 'DNSKEY'],
  ['ns.signed.test', 'A'],
  ['80.2.0.192.in-addr.arpa', 'PTR'],
];

const BITS: QueryBits[] = [];
for (const recursionDesired of [false, true]) {
  BITS.push({ recursionDesired, edns: false, dnssecOk: false });
  BITS.push({ recursionDesired, edns: true, dnssecOk: false });
  BITS.push({ recursionDesired, edns: true, dnssecOk: true });
}

let bind: BindServer | undefined;

beforeAll(async () => {
  requireRoot('codec against BIND');
  bind = await startBind({
    directory: ZONES,
    zones: [
      { name: 'example.test', file: 'example.test.zone' },
      { name: 'other.test', file: 'other.test.zone' },
      { name: 'signed.test', file: 'signed.test.zone' },
      { name: '2.0.192.in-addr.arpa', file: '2.0.192.in-addr.arpa.zone' },
    ],
  });
});

afterAll(async () => {
  await bind?.stop();
});

function spec(name: string, type: RecordType, bits: QueryBits, id: number, cd: boolean): QuestionSpec {
  return { name, type, id, rd: bits.recursionDesired, cd, edns: bits.edns ? { udpSize: 1232, do: bits.dnssecOk } : undefined };
}

/** Header, exact question, and each section's records (names lower-cased) as sorted text. */
function canonical(msg: Buffer): string {
  const p = dnsPacket.decode(msg);
  const lower = (_key: string, v: unknown) => (typeof v === 'string' ? v.toLowerCase() : v);
  const section = (rs: unknown[] | undefined) => (rs ?? []).map((r) => JSON.stringify(r, lower)).sort();
  return JSON.stringify({
    id: p.id,
    flags: p.flags,
    questions: p.questions,
    answers: section(p.answers),
    authorities: section(p.authorities),
    additionals: section(p.additionals),
  });
}

describe('cache entries from BIND responses', () => {
  it('encode every UDP response but truncated ones, and replay exactly what BIND answers in another case', async () => {
    const rnd = seededRandom(53);
    const server = { server: '127.0.0.1', port: bind!.port };
    const mismatches: string[] = [];
    let encoded = 0;
    let truncated = 0;
    for (const [name, type] of QUESTIONS) {
      for (const bits of BITS) {
        const what = `${name} ${type} rd=${bits.recursionDesired} edns=${bits.edns} do=${bits.dnssecOk}`;
        const first = await query(spec(name, type, bits, 0x1000 + encoded, false), server);
        const flags = keyFlags(bits);
        if (first.raw[2] & 0x02) {
          // TC: the program must never store it; the codec says so.
          expect(() => cacheEntry({ question: { name, type }, reply: first.raw, slot: 0, expiresJiffies: 1n, keyFlags: flags })).toThrow(/truncated/);
          truncated++;
          continue;
        }
        let value;
        try {
          value = decodeCacheValue(cacheEntry({ question: { name, type }, reply: first.raw, slot: 0, expiresJiffies: 1n, keyFlags: flags }).value);
        } catch (e) {
          mismatches.push(`${what}: refused: ${(e as Error).message}`);
          continue;
        }
        encoded++;
        const q2 = buildQuery(spec(randomCase(name, rnd), type, bits, Math.floor(rnd() * 65536), true));
        const second = await query(q2, server);
        const replayed = emulateReply(value, q2);
        const program = canonical(replayed);
        const named = canonical(second.raw);
        if (program !== named) {
          mismatches.push(`${what}:\n  program would send ${program}\n  BIND sent          ${named}`);
        }
        // The parts a 0x20 resolver checks, byte for byte: ID, flags and the question.
        const qlen = q2.length - (bits.edns ? 11 : 0);
        expect(replayed.subarray(0, 4)).toEqual(second.raw.subarray(0, 4));
        expect(replayed.subarray(12, qlen)).toEqual(q2.subarray(12, qlen));
      }
    }
    expect(mismatches).toEqual([]);
    expect(encoded).toBeGreaterThan(QUESTIONS.length * 4);
    expect(truncated).toBeGreaterThan(0); // huge.example.test at least
  });
});
