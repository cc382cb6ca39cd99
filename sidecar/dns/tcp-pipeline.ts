/**
 * Many queries to one server over one TCP connection (RFC 7766 pipelining), for the sidecar's
 * verifications and rechecks: thousands of answers asked of BIND each minute would otherwise be
 * as many TCP handshakes and connection slots (named's tcp-clients) on the server they are meant
 * to spare.
 *
 * Queries are written as they come, up to `maxInFlight` at once; answers are matched by ID (which
 * the pipeline assigns, unique among those in flight) and question, in whatever order named
 * sends them. A connection that closes or fails is opened again for what it left unanswered;
 * an idle one is closed after `idleMs`.
 */
import * as net from 'node:net';
import { DnsTimeoutError, type ServerAddress } from './client';

export interface TcpPipelineOptions {
  maxInFlight?: number;
  /** Per query, from when it is written. */
  timeoutMs?: number;
  /** Close the connection when nothing has been in flight this long. */
  idleMs?: number;
}

interface Pending {
  wire: Buffer;
  /** Connections it was lost with that had answered nothing since it was sent. */
  attempts: number;
  /** The connection's answer count when it was sent. */
  sentAfter: number;
  resolve(reply: Buffer): void;
  reject(err: Error): void;
  timer?: NodeJS.Timeout;
}

export class TcpPipeline {
  private socket: net.Socket | undefined;
  private connected = false;
  private readonly waiting: Pending[] = [];
  private readonly inFlight = new Map<number, Pending>();
  private nextId = (Math.random() * 0x10000) >>> 0;
  private buffered: Buffer = Buffer.alloc(0);
  private idleTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Answers received on the current connection. */
  private answered = 0;
  /** The last connection was lost without an answer: one query at a time until one comes,
   * so that a query the server drops the connection at takes no other down with it. */
  private probing = false;
  /** Connections opened so far (tests, and the reason to exist: few). */
  connections = 0;

  constructor(
    private readonly server: ServerAddress,
    private readonly o: TcpPipelineOptions = {},
  ) {}

  /** Sends `wire` (its ID is replaced) and resolves with the answer, its ID set back. */
  ask(wire: Buffer): Promise<Buffer> {
    if (this.closed) return Promise.reject(new Error('TCP pipeline closed'));
    if (wire.length < 12) return Promise.reject(new Error('a DNS query is at least 12 bytes'));
    return new Promise((resolve, reject) => {
      const id = wire.readUInt16BE(0);
      this.waiting.push({
        wire: Buffer.from(wire),
        attempts: 0,
        sentAfter: 0,
        resolve: (reply) => {
          reply.writeUInt16BE(id, 0);
          resolve(reply);
        },
        reject,
      });
      this.pump();
    });
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.idleTimer);
    this.socket?.destroy();
    this.socket = undefined;
    const err = new Error('TCP pipeline closed');
    for (const p of [...this.inFlight.values(), ...this.waiting.splice(0)]) this.fail(p, err);
    this.inFlight.clear();
  }

  private pump(): void {
    if (this.closed || this.waiting.length === 0) return;
    clearTimeout(this.idleTimer);
    if (!this.socket) {
      this.open();
      return;
    }
    if (!this.connected) return;
    const max = this.probing ? 1 : (this.o.maxInFlight ?? 16);
    while (this.waiting.length && this.inFlight.size < max) this.send(this.waiting.shift() as Pending);
  }

  private open(): void {
    const socket = net.connect({ host: this.server.host, port: this.server.port });
    this.socket = socket;
    this.connected = false;
    this.buffered = Buffer.alloc(0);
    this.answered = 0;
    this.connections++;
    socket.setNoDelay(true);
    socket.on('connect', () => {
      if (this.socket !== socket) return;
      this.connected = true;
      this.pump();
    });
    socket.on('data', (chunk) => this.socket === socket && this.receive(chunk));
    const lost = (err?: Error) => {
      if (this.socket !== socket) return;
      const wasConnected = this.connected;
      this.socket = undefined;
      this.connected = false;
      socket.destroy();
      this.requeue(err ?? new Error(`${this.server.host}#${this.server.port} closed the TCP connection`), wasConnected);
    };
    socket.on('error', lost);
    socket.on('close', () => lost());
  }

  private send(p: Pending): void {
    let id = this.nextId;
    while (this.inFlight.has(id)) id = (id + 1) & 0xffff;
    this.nextId = (id + 1) & 0xffff;
    p.wire.writeUInt16BE(id, 0);
    p.sentAfter = this.answered;
    this.inFlight.set(id, p);
    const timeoutMs = this.o.timeoutMs ?? 2000;
    p.timer = setTimeout(() => {
      if (this.inFlight.get(id) !== p) return;
      this.inFlight.delete(id);
      p.reject(new DnsTimeoutError(this.server, 'tcp', timeoutMs));
      this.settled();
    }, timeoutMs);
    const frame = Buffer.alloc(2 + p.wire.length);
    frame.writeUInt16BE(p.wire.length, 0);
    p.wire.copy(frame, 2);
    this.socket?.write(frame);
  }

  private receive(chunk: Buffer): void {
    this.buffered = this.buffered.length ? Buffer.concat([this.buffered, chunk]) : chunk;
    while (this.buffered.length >= 2 && this.buffered.length >= 2 + this.buffered.readUInt16BE(0)) {
      const message = Buffer.from(this.buffered.subarray(2, 2 + this.buffered.readUInt16BE(0)));
      this.buffered = this.buffered.subarray(2 + message.length);
      if (message.length < 12) continue;
      const p = this.inFlight.get(message.readUInt16BE(0));
      // An answer to a question not asked under this ID (a late one to a query that timed out
      // and whose ID was reused) is not this query's.
      if (!p || !sameQuestion(p.wire, message)) continue;
      this.inFlight.delete(message.readUInt16BE(0));
      this.answered++;
      this.probing = false;
      clearTimeout(p.timer);
      p.resolve(message);
      this.settled();
    }
  }

  /** The connection is gone: what it had in flight goes again on a new one. A query lost twice
   * with connections that answered nothing after it was sent fails (a server that drops the
   * connection at that very query); one that was merely behind others is sent again. One that
   * could not be made fails everything waiting (the next ask tries again). */
  private requeue(err: Error, wasConnected: boolean): void {
    const again: Pending[] = [];
    if (this.inFlight.size > 0 && [...this.inFlight.values()].every((p) => this.answered === p.sentAfter)) this.probing = true;
    for (const p of this.inFlight.values()) {
      clearTimeout(p.timer);
      if (this.answered === p.sentAfter) p.attempts++;
      if (p.attempts < 2) again.push(p);
      else this.fail(p, err);
    }
    this.inFlight.clear();
    if (!wasConnected) {
      for (const p of [...again, ...this.waiting.splice(0)]) this.fail(p, err);
      return;
    }
    this.waiting.unshift(...again);
    this.pump();
  }

  private fail(p: Pending, err: Error): void {
    clearTimeout(p.timer);
    p.reject(err);
  }

  private settled(): void {
    this.pump();
    if (this.inFlight.size === 0 && this.waiting.length === 0) {
      clearTimeout(this.idleTimer);
      this.idleTimer = setTimeout(() => {
        if (this.inFlight.size === 0 && this.waiting.length === 0) {
          const s = this.socket;
          this.socket = undefined;
          this.connected = false;
          s?.destroy();
        }
      }, this.o.idleMs ?? 5000);
      this.idleTimer.unref();
    }
  }
}

/** Whether the answer's question section is the query's (bytes, name case aside). */
function sameQuestion(query: Buffer, answer: Buffer): boolean {
  if (answer.readUInt16BE(4) !== 1 || query.readUInt16BE(4) !== 1) return false;
  let end = 12;
  while (end < query.length && query[end] !== 0) end += query[end] + 1;
  end += 5; // the root label, type and class
  if (end > query.length || end > answer.length) return false;
  return query.subarray(12, end).toString('latin1').toLowerCase() === answer.subarray(12, end).toString('latin1').toLowerCase();
}
