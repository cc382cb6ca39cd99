/**
 * Frame Streams framing and handshake, and the DNS query reader, on hand-built input: the
 * cases real BIND does not produce on demand (split reads, a writer offering the wrong
 * content type, broken frames, odd queries).
 */
import * as dnsPacket from 'dns-packet';
import { lstatSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import * as net from 'net';
import { tmpdir } from 'os';
import { join } from 'path';
import * as protobuf from 'protobufjs';
import {
  ControlType,
  DNSTAP_CONTENT_TYPE,
  Frame,
  FrameStreamDecoder,
  FrameStreamError,
  encodeControlFrame,
  encodeDataFrame,
} from '../../sidecar/dnstap/frame-streams';
import { DnstapEventDecoder, addressText } from '../../sidecar/dnstap/dnstap-message';
import { readWireQuestion, WireError } from '../../sidecar/dnstap/query-wire';
import { DnstapSocketReceiver } from '../../sidecar/dnstap/socket-receiver';
import { KEY_DO, KEY_EDNS, KEY_RD, KEY_V6, QueryEvent } from '../../sidecar/ranking/question-key';
import { run, waitFor } from '../support/process';

const Dnstap = protobuf.loadSync(join(__dirname, '../../sidecar/dnstap/dnstap.proto')).lookupType('dnstap.Dnstap');

function dnstapPayload(query: Buffer, messageType = 5, queryAddress = Buffer.from([192, 0, 2, 9])): Uint8Array {
  return Dnstap.encode(
    Dnstap.fromObject({
      type: 1,
      message: {
        type: messageType,
        socketFamily: queryAddress.length === 16 ? 2 : 1,
        socketProtocol: 1,
        queryAddress,
        queryPort: 5353,
        queryMessage: query,
      },
    }),
  ).finish();
}

function query(name: string, opts: { rd?: boolean; edns?: boolean; do?: boolean; type?: dnsPacket.RecordType } = {}): Buffer {
  return dnsPacket.encode({
    type: 'query',
    id: 7,
    flags: opts.rd ? dnsPacket.RECURSION_DESIRED : 0,
    questions: [{ type: opts.type ?? 'A', class: 'IN', name }],
    additionals: opts.edns
      ? [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: opts.do ? dnsPacket.DNSSEC_OK : 0, options: [] } as unknown as dnsPacket.Answer]
      : [],
  });
}

describe('Frame Streams codec', () => {
  const stream = Buffer.concat([
    encodeControlFrame(ControlType.START, [DNSTAP_CONTENT_TYPE]),
    encodeDataFrame(Buffer.from('first')),
    encodeDataFrame(Buffer.from('second frame')),
    encodeControlFrame(ControlType.STOP),
  ]);
  const expected = ['control 2 protobuf:dnstap.Dnstap', 'data first', 'data second frame', 'control 3 '];
  const show = (f: Frame) => (f.kind === 'data' ? `data ${f.payload.toString()}` : `control ${f.type} ${f.contentTypes.join(',')}`);

  it('decodes a stream delivered in one piece and byte by byte alike', () => {
    const whole: string[] = [];
    new FrameStreamDecoder().push(stream, (f) => whole.push(show(f)));
    const bytewise: string[] = [];
    const d = new FrameStreamDecoder();
    for (let i = 0; i < stream.length; i++) d.push(stream.subarray(i, i + 1), (f) => bytewise.push(show(f)));
    expect(whole).toEqual(expected);
    expect(bytewise).toEqual(expected);
    expect(d.pendingBytes).toBe(0);
  });

  it('rejects broken framing with the stream offset', () => {
    const huge = Buffer.alloc(4);
    huge.writeUInt32BE(5 << 20);
    expect(() => new FrameStreamDecoder().push(huge, () => undefined)).toThrow(FrameStreamError);
    const badControl = Buffer.from([0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 9]);
    expect(() => new FrameStreamDecoder().push(badControl, () => undefined)).toThrow(/unknown control frame type 9 \(at byte 0/);
    const overrun = Buffer.from([0, 0, 0, 0, 0, 0, 0, 12, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 99]);
    expect(() => new FrameStreamDecoder().push(overrun, () => undefined)).toThrow(/overruns/);
  });
});

describe('DNS query reader', () => {
  it('reads name, type, class and the bits that select a response', () => {
    expect(readWireQuestion(query('WWW.Example.TEST', { rd: true, edns: true, do: true, type: 'AAAA' }))).toMatchObject({
      name: 'www.example.test', qtype: 28, qclass: 1, flags: KEY_RD | KEY_EDNS | KEY_DO, ednsVersion: 0, opcode: 0,
    });
    expect(readWireQuestion(query('.', {})).name).toBe('.');
    expect(readWireQuestion(query('x.test', {})).flags).toBe(0);
  });

  it('escapes names as BIND prints them', () => {
    const q = query('a.test');
    const raw = Buffer.concat([q.subarray(0, 12), Buffer.from([5, 0x20, 0x40, 0x28, 0xff, 0x41, 4]), Buffer.from('test'), Buffer.from([0]), q.subarray(q.length - 4)]);
    expect(readWireQuestion(raw).name).toBe('\\032\\@\\(\\255a.test');
  });

  it('refuses what is not a readable one-question query', () => {
    const q = query('a.test');
    const response = Buffer.from(q);
    response[2] |= 0x80;
    expect(() => readWireQuestion(response)).toThrow(/response/);
    expect(() => readWireQuestion(q.subarray(0, 10))).toThrow(WireError);
    expect(() => readWireQuestion(q.subarray(0, q.length - 2))).toThrow(/ends early/);
    const pointer = Buffer.concat([q.subarray(0, 12), Buffer.from([0xc0, 0x0c, 0, 1, 0, 1])]);
    expect(() => readWireQuestion(pointer)).toThrow(/compression pointer/);
    const two = Buffer.from(q);
    two.writeUInt16BE(2, 4);
    expect(() => readWireQuestion(two)).toThrow(/QDCOUNT/);
  });

  it('formats addresses in RFC 5952 form', () => {
    expect(addressText(Buffer.from([10, 53, 0, 1]))).toBe('10.53.0.1');
    expect(addressText(Buffer.from('fd530000000000000000000000000001', 'hex'))).toBe('fd53::1');
    expect(addressText(Buffer.from('20010db8000000010000000000000000', 'hex'))).toBe('2001:db8:0:1::');
    expect(addressText(Buffer.from('00000000000000000000000000000001', 'hex'))).toBe('::1');
    expect(addressText(Buffer.from([1, 2, 3]))).toBe('');
  });
});

describe('dnstap payloads', () => {
  it('keeps client and auth queries, ignores responses, and samples garbage without throwing', () => {
    const events: QueryEvent[] = [];
    const d = new DnstapEventDecoder('test', (e) => events.push(e));
    d.payload(dnstapPayload(query('a.test', { rd: true }), 5));
    d.payload(dnstapPayload(query('b.test'), 1));
    d.payload(dnstapPayload(query('c.test'), 6));
    d.payload(dnstapPayload(query('v6.test', { edns: true }), 1, Buffer.from('fd530000000000000000000000000001', 'hex')));
    d.payload(Buffer.from([0xff, 0xff, 0xff]));
    d.payload(dnstapPayload(Buffer.from([1, 2, 3])));
    expect(events.map((e) => [e.name, e.flags, e.client, e.clientPort])).toEqual([
      ['a.test', KEY_RD, '192.0.2.9', 5353],
      ['b.test', 0, '192.0.2.9', 5353],
      ['v6.test', KEY_EDNS | KEY_V6, 'fd53::1', 5353],
    ]);
    expect(d.stats).toMatchObject({ frames: 6, queries: 3, ignored: 1 });
    expect(d.stats.unreadable.count).toBe(2);
    expect(d.stats.unreadable.samples.map((s) => s.where)).toEqual(['test:frame 5', 'test:frame 6']);
  });
});

describe('DnstapSocketReceiver handshake', () => {
  let dir: string;
  let receiver: DnstapSocketReceiver | undefined;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'santa-fstrm-'));
  });
  afterEach(async () => {
    await receiver?.close();
    receiver = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  /** A bidirectional writer as libfstrm behaves: READY, wait for ACCEPT, START, data, STOP,
   * wait for FINISH. Resolves with the control frames the receiver sent. */
  async function write(path: string, contentType: string, payloads: Uint8Array[]): Promise<number[]> {
    const socket = net.connect(path);
    const replies: number[] = [];
    const decoder = new FrameStreamDecoder();
    const waiters: Array<() => void> = [];
    socket.on('data', (chunk) => decoder.push(chunk, (f) => {
      if (f.kind === 'control') replies.push(f.type);
      waiters.shift()?.();
    }));
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    const reply = () => Promise.race([new Promise<void>((r) => waiters.push(r)), closed]);
    await new Promise<void>((r) => socket.once('connect', () => r()));
    socket.write(encodeControlFrame(ControlType.READY, [contentType]));
    await reply();
    if (replies[0] === ControlType.ACCEPT) {
      socket.write(Buffer.concat([
        encodeControlFrame(ControlType.START, [contentType]),
        ...payloads.map((p) => encodeDataFrame(p)),
        encodeControlFrame(ControlType.STOP),
      ]));
      await reply();
    }
    socket.destroy();
    return replies;
  }

  it('accepts dnstap, answers READY with ACCEPT and STOP with FINISH', async () => {
    const events: QueryEvent[] = [];
    receiver = new DnstapSocketReceiver(join(dir, 's.sock'), (e) => events.push(e));
    await receiver.listen();
    const replies = await write(receiver.socketPath, DNSTAP_CONTENT_TYPE, [dnstapPayload(query('a.test')), dnstapPayload(query('b.test'))]);
    expect(replies).toEqual([ControlType.ACCEPT, ControlType.FINISH]);
    await waitFor('both events', () => (events.length === 2 ? true : undefined), { timeoutMs: 5000 });
    expect(events.map((e) => e.name)).toEqual(['a.test', 'b.test']);
  });

  it('closes on a writer that offers another content type, and keeps serving others', async () => {
    const errors: Error[] = [];
    receiver = new DnstapSocketReceiver(join(dir, 's.sock'), () => undefined, { onError: (e) => errors.push(e) });
    await receiver.listen();
    expect(await write(receiver.socketPath, 'protobuf:other.Thing', [])).toEqual([]);
    expect(errors.map((e) => e.message).join()).toMatch(/offers \["protobuf:other.Thing"\]/);
    expect(await write(receiver.socketPath, DNSTAP_CONTENT_TYPE, [])).toEqual([ControlType.ACCEPT, ControlType.FINISH]);
  });

  it('replaces a stale socket file but refuses to steal a live one', async () => {
    const path = join(dir, 's.sock');
    receiver = new DnstapSocketReceiver(path, () => undefined);
    await receiver.listen();
    await expect(new DnstapSocketReceiver(path, () => undefined).listen()).rejects.toThrow(/already receiving/);
    await receiver.close();
    receiver = undefined;

    // A socket file nobody listens on, as a receiver killed with SIGKILL leaves behind.
    await run(['python3', '-c', `import socket; socket.socket(socket.AF_UNIX).bind(${JSON.stringify(path)})`]);
    expect(lstatSync(path).isSocket()).toBe(true);
    receiver = new DnstapSocketReceiver(path, () => undefined);
    await receiver.listen();
    expect(await write(path, DNSTAP_CONTENT_TYPE, [])).toEqual([ControlType.ACCEPT, ControlType.FINISH]);

    const regular = join(dir, 'not-a-socket');
    writeFileSync(regular, 'data');
    await expect(new DnstapSocketReceiver(regular, () => undefined).listen()).rejects.toThrow(/not a socket/);
  });
});
