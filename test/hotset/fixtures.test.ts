/** The captured BIND 9.18 lines (see the header of each fixture for how they were made): the
 * same 16 queries logged with five channel settings must give the same 16 keys. */
import { readdirSync, readFileSync } from 'fs';
import { join } from 'path';
import { QueryLogDecoder } from '../../sidecar/querylog/decoder';
import { KEY_DO, KEY_EDNS, KEY_RD, KEY_V6, QueryEvent } from '../../sidecar/ranking/question-key';

const FIXTURES = join(__dirname, 'fixtures');

function readFixture(file: string): { events: QueryEvent[]; decoder: QueryLogDecoder } {
  const events: QueryEvent[] = [];
  const decoder = new QueryLogDecoder(file, (e) => events.push(e));
  const body = readFileSync(join(FIXTURES, file), 'utf8').split('\n').filter((l) => !l.startsWith('#')).join('\n');
  decoder.push(Buffer.from(body));
  decoder.endOfFile();
  return { events, decoder };
}

const ED = KEY_RD | KEY_EDNS;
const EXPECTED: Array<[string, number, number, number, Partial<QueryEvent>]> = [
  ['www.example.test', 1, 1, ED, { view: 'inside', clientPort: 47303 }],
  ['www.example.test', 16, 1, KEY_EDNS, {}],
  ['www.example.test', 1, 1, ED | KEY_DO, {}],
  ['www.example.test', 1, 1, KEY_RD, { ednsVersion: -1 }],
  ['www.example.test', 1, 1, ED, { tcp: true }],
  ['www.example.test', 1, 1, ED, { ecs: '198.51.100.0/24/0' }],
  ['www.example.test', 123, 1, ED, {}],
  ['www.example.test', 1, 1, ED, { cd: true }],
  ['www.example.test', 1, 1, ED, { signed: true }],
  ['www.example.test', 28, 1, ED | KEY_V6, { client: '::1', destination: '::1', view: 'outside' }],
  ['weird\\(x\\).example.test', 1, 1, ED | KEY_V6, {}],
  ['www.example.test', 1, 1, ED, {}],
  ['.', 2, 3, ED, { view: undefined }],
  ['www.example.test', 255, 1, ED, { tcp: true, ecs: '2001:db8::/48/0' }],
  ['a\\032b\\255.example.test', 1, 1, ED, {}],
  ['x\\;y\\@z.example.test', 15, 1, ED, {}],
];

describe('captured BIND 9.18 query-log lines', () => {
  const files = readdirSync(FIXTURES).filter((f) => f.startsWith('bind918-') && f.endsWith('.log'));

  it('covers every print-time setting', () => {
    expect(files.length).toBe(5);
  });

  it.each(files)('%s: every line reads, to the expected keys', (file) => {
    const { events, decoder } = readFixture(file);
    expect(decoder.stats.unreadable.summary()).toBeUndefined();
    expect(events.length).toBe(EXPECTED.length);
    events.forEach((e, i) => {
      const [name, qtype, qclass, flags, extra] = EXPECTED[i];
      expect({ i, name: e.name, qtype: e.qtype, qclass: e.qclass, flags: e.flags }).toEqual({ i, name, qtype, qclass, flags });
      expect(e).toMatchObject(extra);
    });
  });

  it('topology-bind918.log (end-to-end topology, IPv4 and IPv6) reads to the expected keys', () => {
    const { events, decoder } = readFixture('topology-bind918.log');
    expect(decoder.stats.unreadable.summary()).toBeUndefined();
    expect(events.map((e) => [e.name, e.qtype, e.flags, e.tcp, e.client, e.destination])).toEqual([
      ['www.example.test', 16, ED, false, '10.53.0.1', '10.53.0.2'],
      ['www.example.test', 1, KEY_EDNS, false, '10.53.0.1', '10.53.0.2'],
      ['www.example.test', 1, ED | KEY_DO, false, '10.53.0.1', '10.53.0.2'],
      ['www.example.test', 28, ED | KEY_V6, false, 'fd53::1', 'fd53::2'],
      ['www.example.test', 1, ED, true, '10.53.0.1', '10.53.0.2'],
      ['missing.example.test', 1, KEY_RD | KEY_V6, false, 'fd53::1', 'fd53::2'],
    ]);
  });
});
