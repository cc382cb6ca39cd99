/** Hand-written lines for the shapes the captured BIND 9.18 fixtures (test/hotset) do not
 * cover: other releases, syslog prefixes, scoped IPv6, generic types and classes, garbage. */
import { KEY_DO, KEY_EDNS, KEY_RD, KEY_V6, QueryEvent } from '../ranking/question-key';
import { isUnreadable, parseQueryLine } from './parse-line';

function event(line: string): QueryEvent {
  const parsed = parseQueryLine(line);
  if (isUnreadable(parsed)) throw new Error(`unreadable (${parsed.reason}): ${line}`);
  return parsed;
}

function reason(line: string): string {
  const parsed = parseQueryLine(line);
  if (!isUnreadable(parsed)) throw new Error(`parsed, expected unreadable: ${line}`);
  return parsed.reason;
}

describe('parseQueryLine', () => {
  it('reads the documented BIND 9.18 line', () => {
    const e = event('27-Nov-2026 04:01:46.923 client @0x7f96a2b06098 10.53.0.1#45712 (www.example.test): query: www.example.test IN TXT +E(0)K (10.53.0.2)');
    expect(e).toEqual({
      name: 'www.example.test', qtype: 16, qclass: 1, flags: KEY_RD | KEY_EDNS, ednsVersion: 0,
      tcp: false, cd: false, signed: false, client: '10.53.0.1', clientPort: 45712,
      destination: '10.53.0.2', view: undefined, ecs: undefined,
    });
  });

  it('reads BIND 9.11 lines without the client object and with plain E', () => {
    const e = event('27-Nov-2026 04:01:46.923 client 10.53.0.1#45712 (Www.Example.Test): view ext: query: Www.Example.Test IN AAAA -ED (10.53.0.2)');
    expect([e.name, e.qtype, e.flags, e.ednsVersion, e.view]).toEqual(['www.example.test', 28, KEY_EDNS | KEY_DO, 0, 'ext']);
  });

  it('reads lines without the parenthesised qname (before 9.10)', () => {
    const e = event('client 192.0.2.7#53000: query: example.test IN SOA + (192.0.2.1)');
    expect([e.name, e.qtype, e.client, e.clientPort, e.view]).toEqual(['example.test', 6, '192.0.2.7', 53000, undefined]);
  });

  it('skips a syslog header, category and severity', () => {
    const e = event('Nov 27 04:01:46 ns1 named[812]: queries: info: client @0x7f00 203.0.113.9#4242 (a.example.test): query: a.example.test IN A +E(0)DK (203.0.113.1)');
    expect([e.name, e.flags, e.client]).toEqual(['a.example.test', KEY_RD | KEY_EDNS | KEY_DO, '203.0.113.9']);
  });

  it('reads scoped IPv6 clients, TCP, CD, signer, generic type and class, ECS', () => {
    const e = event('2026-11-27T04:01:46.923Z client @0x1 fe80::1%eth0#5353/key k1.example (x.example.test): view v6 only: query: x.example.test CLASS9 TYPE65000 +SE(0)TDCV (fe80::53%eth0) [ECS 2001:db8::/56/0]');
    expect(e).toMatchObject({
      name: 'x.example.test', qtype: 65000, qclass: 9, flags: KEY_RD | KEY_EDNS | KEY_DO | KEY_V6,
      tcp: true, cd: true, signed: true, client: 'fe80::1%eth0', clientPort: 5353,
      destination: 'fe80::53%eth0', ecs: '2001:db8::/56/0',
    });
  });

  it('keeps the EDNS version so callers can drop BADVERS queries', () => {
    expect(event('client @0x1 10.0.0.1#1 (a): query: a IN A -E(1) (10.0.0.2)').ednsVersion).toBe(1);
  });

  it('keeps escapes and lower-cases only A-Z', () => {
    expect(event('client @0x1 10.0.0.1#1 (A\\032B\\255.Test): query: A\\032B\\255.Test IN A + (10.0.0.2)').name).toBe('a\\032b\\255.test');
    expect(event('client @0x1 10.0.0.1#1 (.): query: . IN NS + (10.0.0.2)').name).toBe('.');
    expect(event('client @0x1 10.0.0.1#1 (x): query: ÀB.Test IN A + (10.0.0.2)').name).toBe('Àb.test');
  });

  it('tolerates a trailing CR', () => {
    expect(event('client @0x1 10.0.0.1#1 (a): query: a IN A + (10.0.0.2)\r').destination).toBe('10.0.0.2');
  });

  it('names what is wrong with lines it cannot read', () => {
    expect(reason('')).toMatch(/client/);
    expect(reason('27-Nov-2026 04:01:46.923 general: info: zone example.test/IN: loaded serial 1')).toMatch(/client/);
    expect(reason('client @0x1 10.0.0.1#1 (a): query failed (SERVFAIL) for a/IN/A at query.c:1')).toMatch(/query: /);
    expect(reason('client @0x1 10.0.0.1 (a): query: a IN A + (10.0.0.2)')).toMatch(/port/);
    expect(reason('client @0x1 10.0.0.1#1 (a): query: a IN BOGUS + (10.0.0.2)')).toMatch(/type/);
    expect(reason('client @0x1 10.0.0.1#1 (a): query: a XX A + (10.0.0.2)')).toMatch(/class/);
    expect(reason('client @0x1 10.0.0.1#1 (a): query: a IN A E(0) (10.0.0.2)')).toMatch(/flags/);
    expect(reason('client @0x1 10.0.0.1#1 (a): query: a IN A +E(x) (10.0.0.2)')).toMatch(/EDNS/);
    expect(reason('client @0x1 10.0.0.1#1 (a): query: a IN A +Q (10.0.0.2)')).toMatch(/flag/);
    expect(reason('client @0x1 10.0.0.1#1 (a): query: a IN A + (10.0.0.2')).toMatch(/destination/);
    expect(reason('client @0x1 10.0.0.1#1 (a): query: a IN A + (10.0.0.2) junk')).toMatch(/after/);
    expect(reason('client @0x1 10.0.0.1#1 (a): query: a IN')).toMatch(/class/);
  });
});
