/**
 * A small DNS client for the sidecar's own questions to BIND: verifying built responses and
 * polling zone serials. It speaks TCP by default because XDP only answers UDP: a TCP answer
 * always comes from BIND itself, never from our own cache.
 */
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import * as packet from 'dns-packet';
import type { QueryBits } from '../response/build';
import { classCode, nameToWire, typeCode } from '../bpf/dns-wire';

export type Transport = 'udp' | 'tcp';

export interface ServerAddress {
  host: string;
  port: number;
}

/** The same query bits the response builder takes: a query asks exactly what was built. */
export type { QueryBits } from '../response/build';

export interface Question {
  name: string;
  /** Mnemonic ("AAAA") or number. */
  type: string | number;
  class?: string;
}

/** Encodes a plain query exactly as a stub resolver would send it (no options in the OPT).
 * Names are in presentation form with RFC 1035 escapes (as BIND logs them: `a\\032b.example`). */
export function encodeQuery(question: Question, bits: QueryBits, id: number): Buffer {
  const name = nameToWire(question.name);
  const opt = bits.edns ? 11 : 0;
  const out = Buffer.alloc(12 + name.length + 4 + opt);
  out.writeUInt16BE(id, 0);
  out.writeUInt16BE((bits.rd ? packet.RECURSION_DESIRED : 0) | (bits.cd ? packet.CHECKING_DISABLED : 0), 2);
  out.writeUInt16BE(1, 4);
  out.writeUInt16BE(bits.edns ? 1 : 0, 10);
  name.copy(out, 12);
  let at = 12 + name.length;
  at = out.writeUInt16BE(typeCode(question.type), at);
  at = out.writeUInt16BE(classCode(question.class ?? 'IN'), at);
  if (bits.edns) {
    // Root owner, type OPT, UDP size, extended rcode 0, version 0, DO, no options.
    at = out.writeUInt8(0, at);
    at = out.writeUInt16BE(41, at);
    at = out.writeUInt16BE(bits.udpSize ?? 1232, at);
    at = out.writeUInt16BE(0, at);
    out.writeUInt16BE(bits.do ? 0x8000 : 0, at);
  }
  return out;
}

export class DnsTimeoutError extends Error {
  constructor(server: ServerAddress, transport: Transport, timeoutMs: number) {
    super(`no DNS answer from ${server.host}#${server.port} over ${transport} within ${timeoutMs} ms`);
    this.name = 'DnsTimeoutError';
  }
}

/** Sends one query and returns the raw response whose ID matches. */
export function exchange(wire: Buffer, server: ServerAddress, transport: Transport, timeoutMs = 2000): Promise<Buffer> {
  return transport === 'tcp' ? exchangeTcp(wire, server, timeoutMs) : exchangeUdp(wire, server, timeoutMs);
}

function exchangeUdp(wire: Buffer, server: ServerAddress, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket(net.isIPv6(server.host) ? 'udp6' : 'udp4');
    const timer = setTimeout(() => finish(new DnsTimeoutError(server, 'udp', timeoutMs)), timeoutMs);
    const finish = (err: Error | null, reply?: Buffer) => {
      clearTimeout(timer);
      socket.close();
      if (err) reject(err);
      else resolve(reply as Buffer);
    };
    socket.on('error', (err) => finish(err));
    socket.on('message', (msg) => {
      // A datagram with another ID is not ours (late reply to an earlier query): keep waiting.
      if (msg.length >= 2 && msg.readUInt16BE(0) === wire.readUInt16BE(0)) finish(null, msg);
    });
    socket.send(wire, server.port, server.host, (err) => {
      if (err) finish(err);
    });
  });
}

function exchangeTcp(wire: Buffer, server: ServerAddress, timeoutMs: number): Promise<Buffer> {
  let reply: Buffer | undefined;
  return tcpSession(wire, server, timeoutMs, (message) => {
    reply = message;
    return true;
  }).then(() => reply as Buffer);
}

/**
 * Sends one query over TCP and hands each length-prefixed message that comes back to `onMessage`
 * until it returns true (done) or throws (the session fails with that error). Rejects on a
 * timeout for the whole session, or a connection that closes before `onMessage` is done.
 */
export function tcpSession(wire: Buffer, server: ServerAddress, timeoutMs: number, onMessage: (message: Buffer) => boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: server.host, port: server.port });
    let pending = Buffer.alloc(0);
    let finished = false;
    const timer = setTimeout(() => finish(new DnsTimeoutError(server, 'tcp', timeoutMs)), timeoutMs);
    const finish = (err: Error | null) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve();
    };
    socket.on('error', (err) => finish(err));
    socket.on('connect', () => {
      const frame = Buffer.alloc(2 + wire.length);
      frame.writeUInt16BE(wire.length, 0);
      wire.copy(frame, 2);
      socket.write(frame);
    });
    socket.on('data', (chunk) => {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      while (!finished && pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
        const message = Buffer.from(pending.subarray(2, 2 + pending.readUInt16BE(0)));
        pending = pending.subarray(2 + message.length);
        try {
          if (onMessage(message)) finish(null);
        } catch (e) {
          finish(e as Error);
        }
      }
    });
    socket.on('end', () => finish(new Error(`${server.host}#${server.port} closed the TCP connection before a full answer`)));
  });
}

/** Asks the server for a zone's SOA serial; null when it does not answer authoritatively. */
export async function soaSerial(zone: string, server: ServerAddress, timeoutMs = 2000): Promise<number | null> {
  const id = (Math.random() * 0x10000) >>> 0;
  const wire = await exchange(encodeQuery({ name: zone, type: 'SOA' }, { rd: false, edns: false, do: false }, id), server, 'tcp', timeoutMs);
  const reply = packet.decode(wire);
  const rcode = wire[3] & 0x0f;
  if (rcode !== 0 || !reply.flag_aa) return null;
  const soa = (reply.answers ?? []).find((rr): rr is packet.SoaAnswer => rr.type === 'SOA');
  return soa?.data.serial ?? null;
}
