/**
 * NOTIFY messages (RFC 1996) read and acknowledged, on crafted messages and through a real UDP
 * socket on loopback. named's own NOTIFYs reach Santa in test/run/santa-run-transfer.e2e.test.ts.
 */
import * as dgram from 'node:dgram';
import * as packet from 'dns-packet';
import { listenForNotify, notifyAnswer, readNotify } from './notify';

/** A NOTIFY as named sends it (dns-packet does not encode opcodes: set in the header here). */
function notify(zone: string, opts: { opcode?: number; response?: boolean } = {}): Buffer {
  const wire = packet.encode({
    type: opts.response ? 'response' : 'query',
    id: 4242,
    flags: packet.AUTHORITATIVE_ANSWER,
    questions: [{ type: 'SOA', name: zone, class: 'IN' }],
    answers: [{ type: 'SOA', name: zone, ttl: 300, class: 'IN', data: { mname: `ns1.${zone}`, rname: `h.${zone}`, serial: 9, refresh: 1, retry: 1, expire: 1, minimum: 1 } }],
  });
  wire.writeUInt16BE((wire.readUInt16BE(2) & ~0x7800) | ((opts.opcode ?? 4) << 11), 2);
  return wire;
}

describe('NOTIFY', () => {
  it('reads the zone a NOTIFY query names, in lower case', () => {
    expect(readNotify(notify('Example.TEST'))).toBe('example.test');
  });

  it.each([
    ['a response', notify('example.test', { response: true })],
    ['a plain query', notify('example.test', { opcode: 0 })],
    ['a short message', Buffer.alloc(11)],
    ['a cut question', notify('example.test').subarray(0, 20)],
  ])('ignores %s', (_what, msg) => {
    expect(readNotify(msg)).toBeNull();
  });

  it('acknowledges with the ID and question, QR and AA set, and no records', () => {
    const answer = packet.decode(notifyAnswer(notify('example.test')));
    expect(answer).toMatchObject({ id: 4242, type: 'response', opcode: 'NOTIFY', flag_aa: true, rcode: 'NOERROR', questions: [{ name: 'example.test', type: 'SOA' }], answers: [] });
  });

  it('listens on UDP, reports each NOTIFY and sends its acknowledgement', async () => {
    const seen: string[] = [];
    const listener = await listenForNotify({ host: '127.0.0.1', port: 0 }, (zone) => seen.push(zone));
    const client = dgram.createSocket('udp4');
    try {
      const reply = await new Promise<Buffer>((resolve, reject) => {
        setTimeout(() => reject(new Error('no acknowledgement within 2 s')), 2000).unref();
        client.on('message', (msg) => resolve(msg));
        client.send(Buffer.from('not dns at all'), listener.address.port, '127.0.0.1');
        client.send(notify('example.test'), listener.address.port, '127.0.0.1');
      });
      expect(packet.decode(reply)).toMatchObject({ id: 4242, type: 'response', opcode: 'NOTIFY' });
      expect(seen).toEqual(['example.test']);
    } finally {
      client.close();
      await listener.close();
    }
  });
});
