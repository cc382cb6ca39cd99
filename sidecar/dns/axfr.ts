/**
 * A zone transfer (AXFR over TCP, RFC 5936) from BIND: the raw response messages, up to the one
 * that carries the closing SOA. What they hold is read by zone/transfer.ts.
 */
import { decodeMessage } from '../response/decode';
import { nameToWire } from '../zone/name';
import { tcpSession, type ServerAddress } from './client';

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
export async function transferZone(zone: string, server: ServerAddress, limits: TransferLimits = {}): Promise<Buffer[]> {
  const maxBytes = limits.maxBytes ?? 1 << 30;
  const id = (Math.random() * 0x10000) >>> 0;
  const where = `AXFR of ${zone} from ${server.host}#${server.port}`;
  const messages: Buffer[] = [];
  let total = 0;
  let soas = 0;
  try {
    await tcpSession(axfrQuery(zone, id), server, limits.timeoutMs ?? 30_000, (message) => {
      total += message.length;
      if (total > maxBytes) throw new Error(`more than ${maxBytes} bytes`);
      if (message.length < 12 || message.readUInt16BE(0) !== id || (message[2] & 0x80) === 0) throw new Error('a message that is not a reply to the transfer');
      messages.push(message);
      if ((message[3] & 0x0f) !== 0) return true;
      soas += decodeMessage(message).answer.filter((rr) => rr.type === SOA).length;
      return soas >= 2;
    });
  } catch (e) {
    throw new Error(`${where}: ${(e as Error).message}`);
  }
  return messages;
}
