/**
 * Zone models from AXFR streams, and the check that a transferred zone is the signed form of a
 * zone file, on crafted messages. The transfer of a zone named really signs is compared with
 * named's answers in test/zones/compare-bind-inline-signing.test.ts.
 */
import * as packet from 'dns-packet';
import { axfrMessage, soaRecord } from '../../test/support/axfr';
import { parseZoneText } from './parse';
import { signedFormDiffers, transferRecords, TransferError, zoneFromTransfer } from './transfer';

const soa = (serial: number, minimum = 60) => soaRecord('example.test', serial, minimum);
const ns: packet.Answer = { type: 'NS', name: 'example.test', ttl: 300, class: 'IN', data: 'ns1.example.test' };
const a = (name: string, address: string, ttl = 300): packet.Answer => ({ type: 'A', name, ttl, class: 'IN', data: address });
const rrsig: packet.Answer = {
  type: 'RRSIG',
  name: 'www.example.test',
  ttl: 300,
  class: 'IN',
  data: { typeCovered: 'A', algorithm: 13, labels: 3, originalTTL: 300, expiration: 2000000000, inception: 1700000000, keyTag: 1, signersName: 'example.test', signature: Buffer.alloc(64, 7) },
};

const message = (answers: packet.Answer[], rcode = 0) => axfrMessage('example.test', answers, rcode);

const FILE = `$TTL 300
@ SOA ns1 hostmaster 5 3600 600 86400 60
@ NS ns1
ns1 A 192.0.2.53
www A 192.0.2.80
`;
const unsigned = parseZoneText(FILE, 'example.test.', 'db', () => {
  throw new Error('no includes');
});

describe('zoneFromTransfer', () => {
  it('builds the zone a stream of messages carries, the closing SOA left out, records of any type kept byte for byte', () => {
    const zone = zoneFromTransfer('example.test', [message([soa(9), ns, a('ns1.example.test', '192.0.2.53')]), message([a('www.example.test', '192.0.2.80'), rrsig, soa(9)])], 'AXFR');
    expect(zone.signed).toBe(true);
    expect(zone.recordCount).toBe(5);
    expect(zone.node('www.example.test.')?.sigs.get(1)?.rdata[0].subarray(-64)).toEqual(Buffer.alloc(64, 7));
    expect(signedFormDiffers(unsigned, zone)).toBeNull();
  });

  it.each([
    ['an error rcode', [message([], 5)], /rcode REFUSED \(allow-transfer must admit Santa\)/],
    ['no SOA first', [message([ns, soa(9)])], /does not begin with the SOA/],
    ['no closing SOA', [message([soa(9), ns])], /does not end with the SOA it began with/],
    ['a closing SOA of another serial', [message([soa(9), ns, soa(10)])], /does not end with the SOA it began with/],
    ['records after the closing SOA', [message([soa(9), ns, soa(9)]), message([a('www.example.test', '192.0.2.80')])], /records after the closing SOA/],
    ['a record of another zone', [message([soa(9), ns, a('www.example.org', '192.0.2.1'), soa(9)])], /record outside the zone: www\.example\.org/],
  ])('refuses a stream with %s', (_what, messages, reason) => {
    expect(() => [...transferRecords('example.test', messages)]).toThrow(TransferError);
    expect(() => [...transferRecords('example.test', messages)]).toThrow(reason);
  });
});

describe('signedFormDiffers', () => {
  const transferred = (...answers: packet.Answer[]) => zoneFromTransfer('example.test', [message([soa(9), ns, a('ns1.example.test', '192.0.2.53'), ...answers, soa(9)])], 'AXFR');

  it('ignores the serial and what signing adds', () => {
    expect(signedFormDiffers(unsigned, transferred(a('www.example.test', '192.0.2.80'), rrsig))).toBeNull();
  });

  it.each([
    ['data the file no longer has', [a('www.example.test', '192.0.2.81')], 'www.example.test. A is served with other data or TTL'],
    ['another TTL', [a('www.example.test', '192.0.2.80', 600)], 'www.example.test. A is served with other data or TTL'],
    ['a name the file does not have', [a('www.example.test', '192.0.2.80'), a('old.example.test', '192.0.2.9')], 'old.example.test. A is served but not in the file'],
    ['a name missing', [], 'www.example.test. A is not served'],
  ])('names the first difference: %s', (_what, answers, difference) => {
    expect(signedFormDiffers(unsigned, transferred(...answers))).toBe(difference);
  });

  it('compares the SOA beyond its serial', () => {
    const other = zoneFromTransfer('example.test', [message([soa(9, 30), ns, a('ns1.example.test', '192.0.2.53'), a('www.example.test', '192.0.2.80'), soa(9, 30)])], 'AXFR');
    expect(signedFormDiffers(unsigned, other)).toBe('the SOA differs (beyond the serial)');
  });
});
