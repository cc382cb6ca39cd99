/**
 * A zone transfer (AXFR over TCP, RFC 5936) from BIND: the raw response messages, up to the one
 * that carries the closing SOA. What they hold is read by zone/transfer.ts.
 */
import * as net from 'node:net';
import { decodeMessage } from '../response/decode';
import { nameToWire } from '../zone/name';
import type { ServerAddress } from './client';

const AXFR = 252;
const SOA = 6;

export interface TransferLimits {
  /** For the whole transfer. */
  timeoutMs?: number;
  /** Of all messages together. */
  maxBytes?: number;
}

export function axfrQuery(zone: string, id: number): Buffer {
  const name = nameToWire(zone.endsWith('.') ? zone : `${zone}.`);
  const out = Buffer.alloc(12 + name.length + 4);
  out.writeUInt16BE(id, 0);
  out.writeUInt16BE(1, 4);
  name.copy(out, 12);
  out.writeUInt16BE(AXFR, 12 + name.length);
  out.writeUInt16BE(1, 14 + name.length);
  return out;
}

/** Transfers `zone` from `server`: every response message, in order. Rejects on a timeout, a
 * connection that closes early, a reply to another query, or more than maxBytes. An error rcode
 * ends the transfer with the messages so far (zoneFromTransfer reports it). */
export function transferZone(zone: string, server: ServerAddress, limits: TransferLimits = {}): Promise<Buffer[]> {
  const timeoutMs = limits.timeoutMs ?? 30_000;
  const maxBytes = limits.maxBytes ?? 1 << 30;
  const id = (Math.random() * 0x10000) >>> 0;
  const query = axfrQuery(zone, id);
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: server.host, port: server.port });
    const messages: Buffer[] = [];
    let pending = Buffer.alloc(0);
    let total = 0;
    let soas = 0;
    const where = `AXFR of ${zone} from ${server.host}#${server.port}`;
    const timer = setTimeout(() => finish(new Error(`${where}: not complete within ${timeoutMs} ms`)), timeoutMs);
    const finish = (err: Error | null) => {
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(messages);
    };
    socket.on('error', (err) => finish(new Error(`${where}: ${err.message}`)));
    socket.on('connect', () => {
      const frame = Buffer.alloc(2 + query.length);
      frame.writeUInt16BE(query.length, 0);
      query.copy(frame, 2);
      socket.write(frame);
    });
    socket.on('data', (chunk) => {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
        const message = Buffer.from(pending.subarray(2, 2 + pending.readUInt16BE(0)));
        pending = pending.subarray(2 + message.length);
        total += message.length;
        if (total > maxBytes) return finish(new Error(`${where}: more than ${maxBytes} bytes`));
        if (message.length < 12 || message.readUInt16BE(0) !== id || (message[2] & 0x80) === 0) return finish(new Error(`${where}: a message that is not a reply to the transfer`));
        messages.push(message);
        if ((message[3] & 0x0f) !== 0) return finish(null);
        try {
          soas += decodeMessage(message).answer.filter((rr) => rr.type === SOA).length;
        } catch (e) {
          return finish(new Error(`${where}: ${(e as Error).message}`));
        }
        if (soas >= 2) return finish(null);
      }
    });
    socket.on('end', () => finish(new Error(`${where}: the connection closed before the closing SOA`)));
  });
}
