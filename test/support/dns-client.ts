/**
 * A DNS client for tests: sends one exact query (built with dns-packet, or raw bytes) over UDP
 * or TCP and returns the raw response beside its decoding, so tests can check bytes (0x20 case of
 * the echoed question, header bits) as well as records.
 *
 *   const a = await query({ name: 'www.example.test', type: 'A' }, { server: '127.0.0.1', port });
 *   a.rcode === 'NOERROR'; a.packet.answers; a.raw;
 *
 *   // from inside a test namespace (Node cannot switch namespaces per socket, so this runs
 *   // this same module as a worker under `nsenter --net=...`; one process per batch):
 *   const [r1, r2] = await queryMany([q1, q2], { server: '10.53.0.2', netns: topo.client.ns });
 *
 * UDP: a fresh connected socket per query (the kernel then drops datagrams from any other
 * address/port), up to `retries` resends, each waiting `timeoutMs`; responses whose ID differs are
 * ignored. TCP: one connection per query with the two-byte length prefix (RFC 1035 4.2.2).
 * A query that gets no answer rejects with the server, transport, question and attempts in the
 * message. queryMany resolves with one result per query; a failed query's result has `error`.
 */
import * as dgram from 'dgram';
import * as net from 'net';
import * as dnsPacket from 'dns-packet';
import { nsArgv } from './netns';
import { run } from './process';

export type Transport = 'udp' | 'tcp';

export interface QuestionSpec {
  name: string;
  /** A mnemonic dns-packet knows, or any type code (e.g. 61 for OPENPGPKEY, which it does not). */
  type?: dnsPacket.RecordType | number;
  class?: dnsPacket.RecordClass;
  /** Random when absent. */
  id?: number;
  /** Recursion desired; default false (an authoritative client). */
  rd?: boolean;
  cd?: boolean;
  /** Add an OPT record; `true` means udpSize 1232 and DO clear. */
  edns?: boolean | { udpSize?: number; do?: boolean };
}

export interface QueryOptions {
  server: string;
  port?: number;
  transport?: Transport;
  /** Per attempt; default 2000 ms. */
  timeoutMs?: number;
  /** Extra UDP attempts after the first; default 2. TCP is never retried. */
  retries?: number;
  /** Run the query inside this network namespace (name under /run/netns). */
  netns?: string;
}

export interface DnsAnswer {
  /** Exactly the bytes sent. */
  query: Buffer;
  /** Exactly the bytes received (without the TCP length prefix). */
  raw: Buffer;
  packet: dnsPacket.DecodedPacket;
  /** Header RCODE as a name (NOERROR, NXDOMAIN, ...). */
  rcode: string;
  rttMs: number;
}

export interface BatchResult {
  answer?: DnsAnswer;
  error?: string;
}

const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET', 'NXRRSET', 'NOTAUTH', 'NOTZONE'];

export function rcodeName(raw: Buffer): string {
  const code = raw[3] & 0x0f;
  return RCODES[code] ?? `RCODE${code}`;
}

/** The wire query for a question (the name's case is kept exactly, for 0x20 tests). */
export function buildQuery(q: QuestionSpec): Buffer {
  let flags = 0;
  if (q.rd) flags |= dnsPacket.RECURSION_DESIRED;
  if (q.cd) flags |= dnsPacket.CHECKING_DISABLED;
  const additionals: dnsPacket.Answer[] = [];
  if (q.edns) {
    const e = q.edns === true ? {} : q.edns;
    additionals.push({
      type: 'OPT',
      name: '.',
      udpPayloadSize: e.udpSize ?? 1232,
      flags: e.do ? dnsPacket.DNSSEC_OK : 0,
      options: [],
    } as unknown as dnsPacket.Answer);
  }
  return dnsPacket.encode({
    type: 'query',
    id: q.id ?? Math.floor(Math.random() * 65536),
    flags,
    questions: [{ name: q.name, type: recordType(q.type ?? 'A'), class: q.class ?? 'IN' }],
    additionals,
  });
}

function recordType(t: dnsPacket.RecordType | number): dnsPacket.RecordType {
  if (typeof t === 'string') return t;
  if (!Number.isInteger(t) || t < 0 || t > 0xffff) throw new RangeError(`record type ${t} is not a 16-bit code`);
  // dns-packet encodes a type it has no mnemonic for when spelled UNKNOWN_<code>.
  return `UNKNOWN_${t}` as dnsPacket.RecordType;
}

export function describeQuery(bytes: Buffer): string {
  try {
    const p = dnsPacket.decode(bytes);
    const q = p.questions?.[0];
    return q ? `${q.name} ${q.class} ${q.type} id=${p.id}` : `query id=${p.id} without question`;
  } catch {
    return `${bytes.length} undecodable bytes`;
  }
}

function toAnswer(queryBytes: Buffer, raw: Buffer, rttMs: number): DnsAnswer {
  return { query: queryBytes, raw, packet: dnsPacket.decode(raw), rcode: rcodeName(raw), rttMs };
}

/** Sends one query and resolves with the response. */
export async function query(q: QuestionSpec | Buffer, opts: QueryOptions): Promise<DnsAnswer> {
  const [r] = await queryMany([q], opts);
  if (r.error !== undefined) throw new Error(r.error);
  return r.answer!;
}

/** Sends queries one after another; never rejects for a single unanswered query. */
export async function queryMany(qs: ReadonlyArray<QuestionSpec | Buffer>, opts: QueryOptions): Promise<BatchResult[]> {
  const wires = qs.map((q) => (Buffer.isBuffer(q) ? q : buildQuery(q)));
  if (opts.netns !== undefined) return queryManyInNamespace(wires, opts, opts.netns);
  const results: BatchResult[] = [];
  for (const wire of wires) {
    try {
      const started = process.hrtime.bigint();
      const raw = await exchange(wire, opts);
      results.push({ answer: toAnswer(wire, raw, Number(process.hrtime.bigint() - started) / 1e6) });
    } catch (e) {
      results.push({ error: (e as Error).message });
    }
  }
  return results;
}

function exchange(wire: Buffer, opts: QueryOptions): Promise<Buffer> {
  return (opts.transport ?? 'udp') === 'tcp' ? exchangeTcp(wire, opts) : exchangeUdp(wire, opts);
}

function target(opts: QueryOptions): string {
  const host = net.isIPv6(opts.server) ? `[${opts.server}]` : opts.server;
  return `${host}:${opts.port ?? 53}/${opts.transport ?? 'udp'}`;
}

function exchangeUdp(wire: Buffer, opts: QueryOptions): Promise<Buffer> {
  const timeoutMs = opts.timeoutMs ?? 2000;
  const attempts = 1 + (opts.retries ?? 2);
  const id = wire.readUInt16BE(0);
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket(net.isIPv6(opts.server) ? 'udp6' : 'udp4');
    let sent = 0;
    let timer: NodeJS.Timeout | undefined;
    const finish = (err: Error | undefined, raw?: Buffer) => {
      clearTimeout(timer);
      socket.close();
      if (err) reject(err);
      else resolve(raw!);
    };
    const send = () => {
      if (sent === attempts) {
        finish(new Error(`no answer from ${target(opts)} for ${describeQuery(wire)} after ${attempts} attempts of ${timeoutMs} ms`));
        return;
      }
      sent++;
      socket.send(wire, (err) => {
        if (err) finish(new Error(`sending to ${target(opts)}: ${err.message}`));
      });
      timer = setTimeout(send, timeoutMs);
    };
    socket.on('error', (err) => finish(new Error(`${target(opts)} for ${describeQuery(wire)}: ${err.message}`)));
    socket.on('message', (msg: Buffer) => {
      if (msg.length >= 12 && msg.readUInt16BE(0) === id && (msg[2] & 0x80) !== 0) finish(undefined, msg);
    });
    socket.connect(opts.port ?? 53, opts.server, send);
  });
}

function exchangeTcp(wire: Buffer, opts: QueryOptions): Promise<Buffer> {
  const timeoutMs = opts.timeoutMs ?? 2000;
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: opts.server, port: opts.port ?? 53 });
    const chunks: Buffer[] = [];
    let received = 0;
    const timer = setTimeout(
      () => finish(new Error(`no answer from ${target(opts)} for ${describeQuery(wire)} within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const finish = (err: Error | undefined, raw?: Buffer) => {
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(raw!);
    };
    socket.on('connect', () => {
      const prefix = Buffer.alloc(2);
      prefix.writeUInt16BE(wire.length);
      socket.write(Buffer.concat([prefix, wire]));
    });
    socket.on('data', (b: Buffer) => {
      chunks.push(b);
      received += b.length;
      if (received < 2) return;
      const all = Buffer.concat(chunks);
      const len = all.readUInt16BE(0);
      if (all.length >= 2 + len) finish(undefined, all.subarray(2, 2 + len));
    });
    socket.on('error', (err) => finish(new Error(`${target(opts)} for ${describeQuery(wire)}: ${err.message}`)));
    socket.on('end', () => finish(new Error(`${target(opts)} closed the connection before a full answer for ${describeQuery(wire)}`)));
  });
}

// ---- namespace worker -----------------------------------------------------------------------

interface WorkerRequest {
  opts: Omit<QueryOptions, 'netns'>;
  queries: string[]; // hex
}
type WorkerResult = { raw: string; rttMs: number } | { error: string };

function workerArgv(): string[] {
  // Under jest or tsx this file is TypeScript and the worker needs tsx's loader; once compiled
  // to JavaScript it runs as it is.
  const loader = __filename.endsWith('.ts') ? ['--require', require.resolve('tsx/cjs')] : [];
  return [process.execPath, ...loader, __filename, '--dns-client-worker'];
}

async function queryManyInNamespace(wires: Buffer[], opts: QueryOptions, ns: string): Promise<BatchResult[]> {
  const { netns: _ignored, ...rest } = opts;
  void _ignored;
  const request: WorkerRequest = { opts: rest, queries: wires.map((w) => w.toString('hex')) };
  const perQuery = (opts.timeoutMs ?? 2000) * (1 + (opts.retries ?? 2));
  const r = await run(nsArgv(ns, workerArgv()), {
    input: JSON.stringify(request),
    timeoutMs: 15_000 + perQuery * wires.length,
  });
  let results: WorkerResult[];
  try {
    results = JSON.parse(r.stdout) as WorkerResult[];
  } catch {
    throw new Error(`DNS worker in ${ns} printed no result:\n${r.stdout}\n${r.stderr}`);
  }
  return results.map((res, i) =>
    'error' in res ? { error: `${res.error} (from namespace ${ns})` } : { answer: toAnswer(wires[i], Buffer.from(res.raw, 'hex'), res.rttMs) },
  );
}

async function workerMain(): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  const request = JSON.parse(Buffer.concat(chunks).toString()) as WorkerRequest;
  const results = await queryMany(
    request.queries.map((h) => Buffer.from(h, 'hex')),
    request.opts,
  );
  const out: WorkerResult[] = results.map((r) =>
    r.error !== undefined ? { error: r.error } : { raw: r.answer!.raw.toString('hex'), rttMs: r.answer!.rttMs },
  );
  process.stdout.write(JSON.stringify(out));
}

if (require.main === module && process.argv.includes('--dns-client-worker')) {
  workerMain().catch((e) => {
    process.stderr.write(`${(e as Error).stack ?? e}\n`);
    process.exit(1);
  });
}
