/**
 * The soak's notion of a right answer, as pure functions over recorded data.
 *
 * An answer is right when it echoes the query's question byte for byte (0x20 case included) and
 * otherwise equals, as a DNS message (see normalizeMessage), BIND's own answer to the same
 * question for a zone serial that BIND was serving at some moment between the query's sending
 * and the answer's arrival. BIND's
 * answers per serial are fetched over TCP (never answered by XDP); when each serial was served
 * is known from SOA polls, which bound the moment a serial appeared and disappeared only to
 * within one poll, so the window is widened by that much on each side (never narrowed).
 */
import * as dnsPacket from 'dns-packet';

/** One SOA poll of one zone: the serial was served at some moment within [sentMs, recvMs]. */
export interface SerialPoll {
  sentMs: number;
  recvMs: number;
  serial: number;
}

interface SerialRun {
  serial: number;
  first: SerialPoll;
  last: SerialPoll;
}

/** When each serial of one zone may have been served, from successive SOA polls. */
export class SerialTimeline {
  private readonly runs: SerialRun[] = [];

  /** Polls must be recorded in the order they were sent (one poller per zone). */
  record(poll: SerialPoll): void {
    const tail = this.runs[this.runs.length - 1];
    if (tail && tail.serial === poll.serial) tail.last = poll;
    else this.runs.push({ serial: poll.serial, first: poll, last: poll });
  }

  /** Serials seen, oldest first (a serial seen again after another counts twice). */
  serials(): number[] {
    return this.runs.map((r) => r.serial);
  }

  current(): number | undefined {
    return this.runs[this.runs.length - 1]?.serial;
  }

  /**
   * Every serial that may have been served at some moment in [fromMs, toMs], with the widest
   * interval in which it may have been. A serial can have become visible no earlier than the
   * previous poll that still saw another serial was sent, and vanished no later than the next
   * poll that saw another one was answered.
   */
  possible(fromMs: number, toMs: number): Array<{ serial: number; fromMs: number; toMs: number }> {
    const out: Array<{ serial: number; fromMs: number; toMs: number }> = [];
    for (let i = 0; i < this.runs.length; i++) {
      const start = i === 0 ? -Infinity : this.runs[i - 1].last.sentMs;
      const end = i === this.runs.length - 1 ? Infinity : this.runs[i + 1].first.recvMs;
      if (start <= toMs && end >= fromMs) out.push({ serial: this.runs[i].serial, fromMs: start, toMs: end });
    }
    return out;
  }
}

/** Offset just past the question name at 12, or -1 when the message has none or it is malformed. */
function questionNameEnd(msg: Buffer): number {
  if (msg.length < 12 || msg.readUInt16BE(4) < 1) return -1;
  let at = 12;
  while (at < msg.length) {
    const len = msg[at];
    if (len === 0) return at + 1;
    if (len >= 0xc0 || at + 1 + len > msg.length) return -1;
    at += 1 + len;
  }
  return -1;
}

/** A record as comparable text: names lower-cased, binary data as hex. */
function recordText(r: dnsPacket.Answer): string {
  const data = JSON.stringify((r as { data?: unknown }).data ?? null, (_k, v: unknown) =>
    v && typeof v === 'object' && (v as { type?: string }).type === 'Buffer' ? Buffer.from((v as { data: number[] }).data).toString('hex') : v,
  );
  const opt = r.type === 'OPT' ? JSON.stringify({ size: (r as { udpPayloadSize?: number }).udpPayloadSize, flags: (r as { flags?: number }).flags, options: (r as { options?: unknown }).options }) : '';
  return `${r.name} ${r.type} ${(r as { class?: string }).class ?? ''} ${(r as { ttl?: number }).ttl ?? ''} ${data} ${opt}`.toLowerCase();
}

/** One section: RRsets in their order, the records of each RRset sorted (BIND rotates them). */
function sectionText(records: readonly dnsPacket.Answer[] | undefined): string {
  const out: string[] = [];
  let rrset: string[] = [];
  let owner = '';
  for (const r of records ?? []) {
    const key = `${r.name.toLowerCase()} ${r.type}`;
    if (key !== owner && rrset.length) out.push(rrset.sort().join('\n'));
    if (key !== owner) rrset = [];
    owner = key;
    rrset.push(recordText(r));
  }
  if (rrset.length) out.push(rrset.sort().join('\n'));
  return out.join('\n');
}

/**
 * The message as comparable text: what must be equal between an answer and BIND's. Header
 * flags and counts, the question and all four sections, with the message ID left out, names
 * compared without case (the question's case is checked on its own: BIND does not compress a
 * name onto a differently-cased question, so the bytes differ with the query's 0x20 case) and
 * the records within an RRset in any order (BIND's default rrset-order rotates them).
 */
export function normalizeMessage(msg: Buffer): string {
  try {
    const p = dnsPacket.decode(msg);
    const counts = [4, 6, 8, 10].map((o) => msg.readUInt16BE(o)).join(',');
    const q = (p.questions ?? []).map((x) => `${x.name} ${x.type} ${x.class}`.toLowerCase()).join(';');
    return [`flags=${msg.readUInt16BE(2).toString(16)} counts=${counts}`, q, sectionText(p.answers), sectionText(p.authorities), sectionText(p.additionals)].join('\n--\n');
  } catch (e) {
    return `malformed (${(e as Error).message}): ${msg.toString('hex')}`;
  }
}

/** The question section's bytes (name, type, class), for checking the reply echoes the query. */
export function questionBytes(msg: Buffer): Buffer | undefined {
  const end = questionNameEnd(msg);
  return end < 0 || end + 4 > msg.length ? undefined : msg.subarray(12, end + 4);
}

/** BIND's answers, raw and normalized, by question index and serial. */
export class References {
  private readonly byQuestion = new Map<number, Map<number, { raw: Buffer; text: string }>>();

  set(question: number, serial: number, answer: Buffer): void {
    let m = this.byQuestion.get(question);
    if (!m) this.byQuestion.set(question, (m = new Map()));
    m.set(serial, { raw: answer, text: normalizeMessage(answer) });
  }

  get(question: number, serial: number): { raw: Buffer; text: string } | undefined {
    return this.byQuestion.get(question)?.get(serial);
  }
}

export type Verdict =
  | { kind: 'right'; serial: number }
  | { kind: 'wrong'; reason: string; window: Array<{ serial: number; fromMs: number; toMs: number }> }
  /** No reference for a serial that was possible: the harness could not decide (counted apart). */
  | { kind: 'unverifiable'; reason: string };

export function judge(
  answer: { question: number; query: Buffer; reply: Buffer; sentMs: number; recvMs: number },
  timeline: SerialTimeline,
  refs: References,
): Verdict {
  const window = timeline.possible(answer.sentMs, answer.recvMs);
  const asked = questionBytes(answer.query);
  const echoed = questionBytes(answer.reply);
  if (!asked || !echoed || !asked.equals(echoed)) {
    return { kind: 'wrong', reason: 'the reply does not echo the question exactly (name case, type, class)', window };
  }
  if (window.length === 0) return { kind: 'unverifiable', reason: 'no SOA poll covers the query' };
  const got = normalizeMessage(answer.reply);
  const missing: number[] = [];
  for (const w of window) {
    const ref = refs.get(answer.question, w.serial);
    if (!ref) missing.push(w.serial);
    else if (ref.text === got) return { kind: 'right', serial: w.serial };
  }
  if (missing.length > 0) return { kind: 'unverifiable', reason: `no BIND reference for serial ${missing.join(', ')}` };
  return { kind: 'wrong', reason: "equals BIND's answer for no serial served during the query", window };
}
