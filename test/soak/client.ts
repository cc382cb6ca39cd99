/**
 * The soak's client: runs inside the client namespace (started by soak.ts under nsenter, since a
 * Node process cannot move single sockets between namespaces) and
 *   - sends a bounded UDP load (a rate cap, a total cap, a duration) of mostly hot questions with
 *     random 0x20 case, and matches replies by socket and ID;
 *   - polls every zone's SOA from BIND over TCP and, for each new serial, fetches BIND's answer to
 *     every question of that zone over TCP (the references);
 *   - judges every reply (check.ts) a few seconds after it arrived, once the polls around it are in.
 * It reports JSON lines on stdout: {"kind":"started"}, {"kind":"progress",...} and last
 * {"kind":"result",...}. SIGTERM ends the load early (the result still comes).
 *
 *   node --require tsx/cjs test/soak/client.ts '{"server":"10.53.0.2","seconds":20,"qps":2000}'
 */
import * as dgram from 'node:dgram';
import * as dnsPacket from 'dns-packet';
import { buildQuery } from '../support/dns-client';
import { judge, References, SerialTimeline } from './check';
import { TcpDns } from './tcp-dns';
import { soakQuestions, type SoakQuestion } from './zones';

export interface ClientOptions {
  server: string;
  seconds: number;
  qps: number;
  /** Stop after this many queries even if time remains. */
  maxQueries?: number;
  /** Share of queries that ask a hot question. */
  hotShare?: number;
  timeoutMs?: number;
  pollMs?: number;
  sockets?: number;
  /** Replies are judged this long after arrival (the polls and references around them are in). */
  judgeLagMs?: number;
}

export interface WrongAnswer {
  question: string;
  sent: string;
  received: string;
  reason: string;
  reply: string;
  /** Serials BIND may have served during the query, with BIND's answer for each. */
  window: Array<{ serial: number; from: string; to: string; bind: string }>;
}

export interface ClientResult {
  kind: 'result';
  startedAt: number;
  endedAt: number;
  sent: number;
  answered: number;
  timeouts: number;
  /** Replies that came after their query had timed out (not judged). */
  late: number;
  checked: number;
  right: number;
  wrong: number;
  unverifiable: number;
  byRcode: Record<string, number>;
  /** Serials each zone went through, as seen by the SOA polls. */
  serials: Record<string, number[]>;
  soaPolls: number;
  soaPollFailures: number;
  referenceFetches: number;
  firstWrong: WrongAnswer[];
  firstUnverifiable: string[];
}

interface Pending {
  question: number;
  query: Buffer;
  sentMs: number;
}

interface Received extends Pending {
  reply: Buffer;
  recvMs: number;
}

const RCODE_NAMES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'];
const iso = (ms: number) => (Number.isFinite(ms) ? new Date(ms).toISOString().slice(11, 23) : ms > 0 ? 'still' : 'start');

function describeQuestion(q: SoakQuestion): string {
  return `${q.name} ${q.type} rd=${q.rd ? 1 : 0} edns=${q.edns ? 1 : 0}`;
}

/** One line per message: rcode, flags and the records, for a person comparing two answers. */
export function summarize(msg: Buffer | undefined): string {
  if (!msg) return '(none)';
  try {
    const p = dnsPacket.decode(msg);
    const rr = (r: dnsPacket.Answer) => {
      const data = (r as { data?: unknown }).data;
      const text = JSON.stringify(data ?? '', (_k, v: unknown) =>
        v && typeof v === 'object' && (v as { type?: string }).type === 'Buffer' ? Buffer.from((v as { data: number[] }).data).toString() : v,
      );
      return `${r.name} ${r.type} ${text}`;
    };
    const parts = [`${RCODE_NAMES[msg[3] & 15] ?? `rcode ${msg[3] & 15}`} flags=0x${msg.readUInt16BE(2).toString(16)}`];
    if (p.answers?.length) parts.push(`AN: ${p.answers.map(rr).join('; ')}`);
    if (p.authorities?.length) parts.push(`NS: ${p.authorities.map(rr).join('; ')}`);
    if (p.additionals?.length) parts.push(`AR: ${p.additionals.filter((r) => r.type !== 'OPT').map(rr).join('; ')}`);
    return `${parts.join(' | ')} (${msg.length} bytes: ${msg.toString('hex')})`;
  } catch (e) {
    return `undecodable (${(e as Error).message}): ${msg.toString('hex')}`;
  }
}

function randomCase(name: string): string {
  let out = '';
  for (const c of name) out += Math.random() < 0.5 ? c.toUpperCase() : c;
  return out;
}

export async function runClient(o: ClientOptions, emit: (line: object) => void): Promise<ClientResult> {
  const hotShare = o.hotShare ?? 0.9;
  const timeoutMs = o.timeoutMs ?? 1000;
  const pollMs = o.pollMs ?? 20;
  const judgeLagMs = o.judgeLagMs ?? 2500;
  const maxQueries = o.maxQueries ?? Math.ceil(o.qps * o.seconds);
  const questions = soakQuestions();
  const hot = questions.map((q, i) => (q.hot ? i : -1)).filter((i) => i >= 0);
  const cold = questions.map((q, i) => (q.hot ? -1 : i)).filter((i) => i >= 0);
  const zones = [...new Set(questions.map((q) => q.zone))];
  const timelines = new Map(zones.map((z) => [z, new SerialTimeline()]));
  const refs = new References();
  const refSerials = new Map(zones.map((z) => [z, new Set<number>()]));
  const polls = new TcpDns(o.server);
  const fetches = new TcpDns(o.server, 53, 5000);

  const result: ClientResult = {
    kind: 'result', startedAt: Date.now(), endedAt: 0, sent: 0, answered: 0, timeouts: 0, late: 0, checked: 0, right: 0, wrong: 0,
    unverifiable: 0, byRcode: {}, serials: {}, soaPolls: 0, soaPollFailures: 0, referenceFetches: 0, firstWrong: [], firstUnverifiable: [],
  };
  let loadRunning = true;
  let pollsRunning = true;

  // --- BIND's truth: SOA polls and reference answers (TCP) ---------------------------------
  const soaOf = async (zone: string): Promise<number> => {
    const raw = await polls.ask(buildQuery({ name: zone, type: 'SOA', id: 0 }));
    const soa = dnsPacket.decode(raw).answers?.find((a) => a.type === 'SOA');
    if (!soa) throw new Error(`no SOA in BIND's answer for ${zone} (${summarize(raw)})`);
    return (soa.data as { serial: number }).serial;
  };
  const referenceQuery = (q: SoakQuestion) => buildQuery({ name: q.name, type: q.type, rd: q.rd, edns: q.edns, id: 0 });
  const fetching = new Set<string>();
  /** BIND's answers to every question of `zone`, kept only if the serial was the same before and after. */
  const fetchReferences = async (zone: string) => {
    if (fetching.has(zone)) return;
    fetching.add(zone);
    try {
      for (let attempt = 0; attempt < 10; attempt++) {
        const before = await soaOf(zone);
        if (refSerials.get(zone)!.has(before)) return;
        const mine = questions.map((q, i) => ({ q, i })).filter((x) => x.q.zone === zone);
        const replies = await Promise.all(mine.map((x) => fetches.ask(referenceQuery(x.q))));
        const after = await soaOf(zone);
        result.referenceFetches++;
        if (before !== after) continue;
        mine.forEach((x, k) => refs.set(x.i, before, replies[k]));
        refSerials.get(zone)!.add(before);
        return;
      }
    } catch (e) {
      emit({ kind: 'note', text: `reference fetch for ${zone} failed: ${(e as Error).message}` });
    } finally {
      fetching.delete(zone);
    }
  };
  const poller = async (zone: string) => {
    const timeline = timelines.get(zone)!;
    while (pollsRunning) {
      const sentMs = Date.now();
      try {
        const serial = await soaOf(zone);
        timeline.record({ sentMs, recvMs: Date.now(), serial });
        result.soaPolls++;
        if (!refSerials.get(zone)!.has(serial)) void fetchReferences(zone);
      } catch {
        result.soaPollFailures++;
      }
      await new Promise((r) => setTimeout(r, pollMs));
    }
  };
  const pollersDone = Promise.all(zones.map(poller));
  // The load starts once every zone has a serial and its references.
  const readyBy = Date.now() + 20_000;
  while (zones.some((z) => refSerials.get(z)!.size === 0)) {
    if (Date.now() > readyBy) throw new Error(`BIND at ${o.server} did not give serials and references for every zone within 20 s`);
    await new Promise((r) => setTimeout(r, 50));
  }

  // --- judging ------------------------------------------------------------------------------
  const received: Received[] = [];
  const judgeUpTo = (untilMs: number) => {
    let n = 0;
    while (n < received.length && received[n].recvMs <= untilMs) n++;
    for (const a of received.splice(0, n)) {
      const q = questions[a.question];
      const verdict = judge(a, timelines.get(q.zone)!, refs);
      result.checked++;
      if (verdict.kind === 'right') result.right++;
      else if (verdict.kind === 'unverifiable') {
        result.unverifiable++;
        if (result.firstUnverifiable.length < 5) result.firstUnverifiable.push(`${describeQuestion(q)} at ${iso(a.recvMs)}: ${verdict.reason}`);
      } else {
        result.wrong++;
        if (result.firstWrong.length < 5) {
          result.firstWrong.push({
            question: describeQuestion(q),
            sent: iso(a.sentMs),
            received: iso(a.recvMs),
            reason: verdict.reason,
            reply: summarize(a.reply),
            window: verdict.window.map((w) => ({ serial: w.serial, from: iso(w.fromMs), to: iso(w.toMs), bind: summarize(refs.get(a.question, w.serial)?.raw) })),
          });
          emit({ kind: 'wrong', answer: result.firstWrong[result.firstWrong.length - 1] });
        }
      }
    }
  };

  // --- the UDP load --------------------------------------------------------------------------
  const sockets = await Promise.all(
    Array.from({ length: o.sockets ?? 4 }, async () => {
      const s = dgram.createSocket('udp4');
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.connect(53, o.server, () => resolve());
      });
      return { s, outstanding: new Map<number, Pending>(), nextId: (Math.random() * 0x10000) >>> 0 };
    }),
  );
  for (const sock of sockets) {
    sock.s.on('message', (reply: Buffer) => {
      if (reply.length < 12) return;
      const p = sock.outstanding.get(reply.readUInt16BE(0));
      if (!p) {
        result.late++;
        return;
      }
      sock.outstanding.delete(reply.readUInt16BE(0));
      result.answered++;
      const rcode = String(reply[3] & 15);
      result.byRcode[rcode] = (result.byRcode[rcode] ?? 0) + 1;
      received.push({ ...p, reply, recvMs: Date.now() });
    });
  }
  const stop = () => (loadRunning = false);
  process.once('SIGTERM', stop);

  const startMs = Date.now();
  result.startedAt = startMs;
  emit({ kind: 'started', at: startMs });
  const endMs = startMs + o.seconds * 1000;
  let rr = 0;
  let lastProgress = startMs;
  while (loadRunning && Date.now() < endMs && result.sent < maxQueries) {
    const now = Date.now();
    const due = Math.min(maxQueries, Math.floor(((now - startMs) / 1000) * o.qps)) - result.sent;
    for (let k = 0; k < due; k++) {
      const qi = Math.random() < hotShare ? hot[(Math.random() * hot.length) | 0] : cold[(Math.random() * cold.length) | 0];
      const q = questions[qi];
      const sock = sockets[rr++ % sockets.length];
      let id = sock.nextId;
      while (sock.outstanding.has(id)) id = (id + 1) & 0xffff;
      sock.nextId = (id + 1) & 0xffff;
      const query = buildQuery({ name: randomCase(q.name), type: q.type, rd: q.rd, edns: q.edns, id });
      sock.outstanding.set(id, { question: qi, query, sentMs: now });
      sock.s.send(query);
      result.sent++;
    }
    for (const sock of sockets) {
      for (const [id, p] of sock.outstanding) {
        if (now - p.sentMs < timeoutMs) continue;
        sock.outstanding.delete(id);
        result.timeouts++;
      }
    }
    judgeUpTo(now - judgeLagMs);
    if (now - lastProgress >= 2000) {
      lastProgress = now;
      const { sent, answered, timeouts, checked, wrong, unverifiable } = result;
      emit({ kind: 'progress', at: now, sent, answered, timeouts, checked, wrong, unverifiable });
    }
    await new Promise((r) => setTimeout(r, 5));
  }

  // Outstanding queries get their full timeout, then the polls run long enough to bound the last
  // serial's window and fetch references for anything new, and every reply is judged.
  await new Promise((r) => setTimeout(r, timeoutMs));
  for (const sock of sockets) {
    result.timeouts += sock.outstanding.size;
    sock.outstanding.clear();
    sock.s.close();
  }
  await new Promise((r) => setTimeout(r, Math.min(judgeLagMs, 1500)));
  while (fetching.size > 0) await new Promise((r) => setTimeout(r, 50));
  pollsRunning = false;
  await pollersDone;
  judgeUpTo(Infinity);
  polls.close();
  fetches.close();
  for (const [z, t] of timelines) result.serials[z] = t.serials();
  result.endedAt = Date.now();
  return result;
}

if (require.main === module) {
  const emit = (line: object) => process.stdout.write(JSON.stringify(line) + '\n');
  runClient(JSON.parse(process.argv[2] ?? '{}') as ClientOptions, emit)
    .then((r) => {
      emit(r);
      process.exit(0);
    })
    .catch((e: unknown) => {
      emit({ kind: 'error', message: (e as Error).stack ?? String(e) });
      process.exit(1);
    });
}
