/**
 * DNS NOTIFY (RFC 1996), the way named tells servers that a zone changed: with
 * `also-notify { <bind.notify_listen>; };` in named.conf, named sends Santa one for every new
 * serial (edits, dynamic updates, re-signing), and Santa asks for the serial at once instead of
 * at its next poll. A NOTIFY is only a hint: what counts is the serial BIND then serves.
 *
 * readNotify and notifyAnswer are pure; listenForNotify is the UDP edge.
 */
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { readNameWire } from '../response/decode';
import { nameFromWire } from '../zone/name';
import type { ServerAddress } from './client';

const OPCODE_NOTIFY = 4;

/** The zone a NOTIFY query names (lower case, no trailing dot; the root is '.'), or null when
 * the message is not a well-formed NOTIFY query. */
export function readNotify(msg: Buffer): string | null {
  if (msg.length < 12) return null;
  const flags = msg.readUInt16BE(2);
  if (flags & 0x8000 || ((flags >> 11) & 0xf) !== OPCODE_NOTIFY || msg.readUInt16BE(4) !== 1) return null;
  try {
    const { wire, end } = readNameWire(msg, 12);
    if (end + 4 > msg.length) return null;
    const name = nameFromWire(wire, 0).name.toLowerCase();
    return name === '.' ? name : name.slice(0, -1);
  } catch {
    return null;
  }
}

/** The acknowledgement named waits for: the query's ID and question, QR and AA set, no records. */
export function notifyAnswer(query: Buffer): Buffer {
  const { end } = readNameWire(query, 12);
  const answer = Buffer.from(query.subarray(0, end + 4));
  answer.writeUInt16BE(0x8000 | (OPCODE_NOTIFY << 11) | 0x0400, 2);
  answer.writeUInt16BE(1, 4);
  answer.fill(0, 6, 12);
  return answer;
}

export interface NotifyListener {
  readonly address: ServerAddress;
  close(): Promise<void>;
}

/** Listens for NOTIFY on `at` (UDP); calls `onNotify` with each zone named and acknowledges it.
 * Anything else that arrives is ignored. */
export function listenForNotify(at: ServerAddress, onNotify: (zone: string, from: string) => void): Promise<NotifyListener> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket(net.isIPv6(at.host) ? 'udp6' : 'udp4');
    socket.once('error', reject);
    socket.on('message', (msg, peer) => {
      const zone = readNotify(msg);
      if (zone === null) return;
      socket.send(notifyAnswer(msg), peer.port, peer.address);
      onNotify(zone, `${peer.address}#${peer.port}`);
    });
    socket.bind(at.port, at.host, () => {
      socket.off('error', reject);
      const bound = socket.address();
      resolve({
        address: { host: bound.address, port: bound.port },
        close: () => new Promise((done) => socket.close(() => done())),
      });
    });
  });
}
