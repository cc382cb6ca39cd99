/**
 * The TCP pipeline Santa asks BIND through (verifications, rechecks): many queries over one
 * connection to a real named, answers matched to their questions; and, against small TCP servers
 * of the test's own, what named does only sometimes: answers out of order, a connection closed
 * mid-stream, no listener, no answer.
 */
import * as net from 'node:net';
import * as packet from 'dns-packet';
import { encodeQuery } from '../../sidecar/dns/client';
import { TcpPipeline } from '../../sidecar/dns/tcp-pipeline';
import { startBind, type BindServer } from '../support/bind';
import { requireTools } from '../support/require-root';
import { wwwZone } from '../support/zones';

const query = (name: string, id: number) => encodeQuery({ name, type: 'A' }, { rd: false, edns: false, do: false }, id);

/** A TCP DNS server that hands each framed query to `onQuery` with a function to answer it. */
async function fakeServer(onQuery: (q: Buffer, answer: (reply: Buffer) => void, socket: net.Socket) => void): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        const q = buffered.subarray(2, 2 + buffered.readUInt16BE(0));
        buffered = buffered.subarray(2 + q.length);
        onQuery(Buffer.from(q), (reply) => {
          const frame = Buffer.alloc(2 + reply.length);
          frame.writeUInt16BE(reply.length, 0);
          reply.copy(frame, 2);
          if (!socket.destroyed) socket.write(frame);
        }, socket);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

/** The query turned into an answer: QR set, one A record whose address says which it was. */
function answerTo(q: Buffer, n: number): Buffer {
  const reply = Buffer.concat([q, Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, n & 0xff])]);
  reply[2] |= 0x80;
  reply.writeUInt16BE(1, 6);
  return reply;
}

describe('TcpPipeline', () => {
  describe('against named', () => {
    let bind: BindServer;
    beforeAll(async () => {
      requireTools('TCP pipeline against named', ['named']);
      const zone = wwwZone('example.test', 1, '192.0.2.1', Array.from({ length: 50 }, (_, i) => `h${i} IN A 192.0.2.${i + 10}`));
      bind = await startBind({ queryLog: true, zones: [{ name: 'example.test', text: zone }] });
    }, 60_000);
    afterAll(async () => bind?.stop());

    it('asks 300 questions over one connection, each answer its own question with its own ID', async () => {
      const pipeline = new TcpPipeline({ host: '127.0.0.1', port: bind.port });
      try {
        const names = Array.from({ length: 300 }, (_, i) => `h${i % 50}.example.test`);
        const answers = await Promise.all(names.map((name, i) => pipeline.ask(query(name, 1000 + i))));
        answers.forEach((wire, i) => {
          const a = packet.decode(wire);
          expect([a.id, a.questions?.[0].name, (a.answers?.[0] as { data: string } | undefined)?.data]).toEqual([1000 + i, names[i], `192.0.2.${(i % 50) + 10}`]);
        });
        expect(pipeline.connections).toBe(1);
        // named saw every one of them from one client port: one TCP connection.
        const ports = new Set(bind.queryLog().split('\n').filter((l) => / \(h\d+\.example\.test\)/.test(l)).map((l) => /127\.0\.0\.1#(\d+)/.exec(l)?.[1]));
        expect([...ports].length).toBe(1);
      } finally {
        pipeline.close();
      }
    });
  });

  it('matches answers that come back in another order', async () => {
    const held: Array<() => void> = [];
    const server = await fakeServer((q, answer) => {
      held.push(() => answer(answerTo(q, held.length)));
      if (held.length === 4) for (const send of held.splice(0).reverse()) send();
    });
    const pipeline = new TcpPipeline({ host: '127.0.0.1', port: server.port });
    try {
      const names = ['a.test', 'b.test', 'c.test', 'd.test'];
      const answers = await Promise.all(names.map((n, i) => pipeline.ask(query(n, 7 + i))));
      expect(answers.map((w) => [packet.decode(w).id, packet.decode(w).questions?.[0].name])).toEqual(names.map((n, i) => [7 + i, n]));
    } finally {
      pipeline.close();
      await server.close();
    }
  });

  it('sends again, on a new connection, what a closed one left unanswered', async () => {
    const answeredOn = new Map<net.Socket, number>();
    const server = await fakeServer((q, answer, socket) => {
      // Every connection answers two questions, then closes with the rest unanswered (as named
      // closes connections it has too many of).
      const n = (answeredOn.get(socket) ?? 0) + 1;
      answeredOn.set(socket, n);
      if (n > 2) return;
      answer(answerTo(q, n));
      if (n === 2) socket.end();
    });
    const pipeline = new TcpPipeline({ host: '127.0.0.1', port: server.port }, { maxInFlight: 3 });
    try {
      const names = Array.from({ length: 10 }, (_, i) => `n${i}.test`);
      const answers = await Promise.all(names.map((n, i) => pipeline.ask(query(n, i))));
      expect(answers.map((w) => packet.decode(w).questions?.[0].name)).toEqual(names);
      expect(pipeline.connections).toBeGreaterThan(1);
    } finally {
      pipeline.close();
      await server.close();
    }
  });

  it('gives up on a question whose every connection drops at it, and answers the others', async () => {
    const server = await fakeServer((q, answer, socket) => {
      if (packet.decode(q).questions?.[0].name === 'poison.test') socket.destroy();
      else answer(answerTo(q, 1));
    });
    const pipeline = new TcpPipeline({ host: '127.0.0.1', port: server.port });
    try {
      const poison = pipeline.ask(query('poison.test', 1));
      const fine = pipeline.ask(query('fine.test', 2));
      await expect(poison).rejects.toThrow(/closed the TCP connection|ECONNRESET|EPIPE/);
      expect(packet.decode(await fine).questions?.[0].name).toBe('fine.test');
      expect(pipeline.connections).toBeLessThanOrEqual(3);
    } finally {
      pipeline.close();
      await server.close();
    }
  });

  it('fails what it cannot send when nothing listens, and times out a question never answered', async () => {
    const server = await fakeServer(() => undefined);
    const silent = new TcpPipeline({ host: '127.0.0.1', port: server.port }, { timeoutMs: 300 });
    const closed = await fakeServer(() => undefined);
    const port = closed.port;
    await closed.close();
    const refused = new TcpPipeline({ host: '127.0.0.1', port });
    try {
      await expect(refused.ask(query('x.test', 1))).rejects.toThrow(/ECONNREFUSED/);
      await expect(silent.ask(query('x.test', 1))).rejects.toThrow(/no DNS answer .* within 300 ms/);
    } finally {
      silent.close();
      refused.close();
      await server.close();
    }
  });
});
