/**
 * DNS over one long-lived TCP connection with pipelined queries (RFC 7766), matched by ID.
 * The soak asks BIND its SOA many times a second and fetches reference answers: one connection
 * keeps that from leaving thousands of sockets in TIME_WAIT, and TCP never reaches XDP.
 */
import * as net from 'node:net';

export class TcpDns {
  private socket: net.Socket | undefined;
  private buffered = Buffer.alloc(0);
  private readonly waiting = new Map<number, { resolve: (b: Buffer) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  private nextId = (Math.random() * 0x10000) >>> 0;

  constructor(
    private readonly host: string,
    private readonly port = 53,
    private readonly timeoutMs = 2000,
  ) {}

  /** Sends `query` (its ID is replaced) and resolves with the reply. */
  ask(query: Buffer): Promise<Buffer> {
    const socket = this.connection();
    let id = this.nextId;
    while (this.waiting.has(id)) id = (id + 1) & 0xffff;
    this.nextId = (id + 1) & 0xffff;
    const msg = Buffer.from(query);
    msg.writeUInt16BE(id, 0);
    const framed = Buffer.alloc(2 + msg.length);
    framed.writeUInt16BE(msg.length, 0);
    msg.copy(framed, 2);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`no TCP answer from ${this.host} within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.waiting.set(id, { resolve, reject, timer });
      socket.write(framed);
    });
  }

  close(): void {
    this.socket?.destroy();
    this.failAll(new Error('connection closed'));
  }

  private connection(): net.Socket {
    if (this.socket && !this.socket.destroyed) return this.socket;
    const socket = net.connect({ host: this.host, port: this.port });
    socket.setNoDelay(true);
    this.buffered = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    const lost = (why: string) => {
      if (this.socket === socket) this.socket = undefined;
      this.failAll(new Error(`TCP connection to ${this.host} ${why}`));
    };
    socket.on('error', (e) => lost(`failed: ${e.message}`));
    socket.on('close', () => lost('closed'));
    this.socket = socket;
    return socket;
  }

  private receive(chunk: Buffer): void {
    this.buffered = Buffer.concat([this.buffered, chunk]);
    while (this.buffered.length >= 2) {
      const len = this.buffered.readUInt16BE(0);
      if (this.buffered.length < 2 + len) break;
      const msg = this.buffered.subarray(2, 2 + len);
      this.buffered = this.buffered.subarray(2 + len);
      if (msg.length < 2) continue;
      const w = this.waiting.get(msg.readUInt16BE(0));
      if (!w) continue;
      this.waiting.delete(msg.readUInt16BE(0));
      clearTimeout(w.timer);
      w.resolve(Buffer.from(msg));
    }
  }

  private failAll(e: Error): void {
    for (const [id, w] of this.waiting) {
      clearTimeout(w.timer);
      w.reject(e);
      this.waiting.delete(id);
    }
  }
}
