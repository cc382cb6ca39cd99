/** The soak's verdicts on recorded answers (check.ts), without the network. */
import * as dnsPacket from 'dns-packet';
import { buildQuery } from '../support/dns-client';
import { judge, normalizeMessage, References, SerialTimeline } from './check';
import { zoneText } from './zones';

function reply(query: Buffer, addresses: string[], opts: { lowerOwner?: boolean } = {}): Buffer {
  const q = dnsPacket.decode(query);
  const name = opts.lowerOwner ? q.questions![0].name.toLowerCase() : q.questions![0].name;
  return dnsPacket.encode({
    type: 'response',
    id: q.id,
    flags: dnsPacket.AUTHORITATIVE_ANSWER,
    questions: q.questions,
    answers: addresses.map((data) => ({ type: 'A', name, ttl: 300, data })),
  });
}

describe('soak checks', () => {
  const timeline = new SerialTimeline();
  // Serial 1 seen up to the poll sent at 1000; serial 2 from the poll answered at 1010.
  timeline.record({ sentMs: 0, recvMs: 2, serial: 1 });
  timeline.record({ sentMs: 1000, recvMs: 1002, serial: 1 });
  timeline.record({ sentMs: 1008, recvMs: 1010, serial: 2 });
  timeline.record({ sentMs: 2000, recvMs: 2002, serial: 2 });

  it('widens each serial to the polls around it, never narrows it', () => {
    expect(timeline.possible(500, 501).map((w) => w.serial)).toEqual([1]);
    expect(timeline.possible(1004, 1005).map((w) => w.serial)).toEqual([1, 2]);
    expect(timeline.possible(1011, 1012).map((w) => w.serial)).toEqual([2]);
    expect(timeline.possible(1011, 1012)[0]).toMatchObject({ fromMs: 1000, toMs: Infinity });
  });

  const query = buildQuery({ name: 'WwW.Alpha.SOAK', type: 'A', id: 7 });
  const refs = new References();
  refs.set(0, 1, reply(buildQuery({ name: 'www.alpha.soak', type: 'A', id: 1 }), ['10.0.0.1', '10.0.0.2']));
  refs.set(0, 2, reply(buildQuery({ name: 'www.alpha.soak', type: 'A', id: 2 }), ['10.0.0.3', '10.0.0.4']));

  it('takes an answer of a serial served during the query, records of an RRset in any order', () => {
    const answer = reply(query, ['10.0.0.4', '10.0.0.3']);
    expect(judge({ question: 0, query, reply: answer, sentMs: 1500, recvMs: 1501 }, timeline, refs)).toEqual({ kind: 'right', serial: 2 });
    // Around the change either serial is right.
    const old = reply(query, ['10.0.0.1', '10.0.0.2']);
    expect(judge({ question: 0, query, reply: old, sentMs: 1003, recvMs: 1004 }, timeline, refs)).toEqual({ kind: 'right', serial: 1 });
  });

  it('calls a stale answer wrong and says which serials were possible', () => {
    const stale = reply(query, ['10.0.0.1', '10.0.0.2']);
    const v = judge({ question: 0, query, reply: stale, sentMs: 1500, recvMs: 1501 }, timeline, refs);
    expect(v).toMatchObject({ kind: 'wrong', window: [{ serial: 2 }] });
  });

  it('calls a reply wrong when it does not echo the 0x20 case of the question', () => {
    const lowered = reply(buildQuery({ name: 'www.alpha.soak', type: 'A', id: 7 }), ['10.0.0.3', '10.0.0.4']);
    expect(judge({ question: 0, query, reply: lowered, sentMs: 1500, recvMs: 1501 }, timeline, refs).kind).toBe('wrong');
  });

  it('compares owner names without case (BIND writes them in the zone\'s case), but not flags or data', () => {
    const a = reply(query, ['10.0.0.3']);
    expect(normalizeMessage(reply(query, ['10.0.0.3'], { lowerOwner: true }))).toBe(normalizeMessage(a));
    const tc = Buffer.from(a);
    tc[2] |= 0x02;
    expect(normalizeMessage(tc)).not.toBe(normalizeMessage(a));
    expect(normalizeMessage(reply(query, ['10.0.0.4']))).not.toBe(normalizeMessage(a));
  });

  it('cannot judge a serial it has no BIND answer for', () => {
    const t = new SerialTimeline();
    t.record({ sentMs: 0, recvMs: 1, serial: 9 });
    expect(judge({ question: 0, query, reply: reply(query, ['10.0.0.3']), sentMs: 5, recvMs: 6 }, t, refs).kind).toBe('unverifiable');
  });

  it('generates zone data that changes with the serial, and a broken file on request', () => {
    expect(zoneText('alpha.soak', 2)).not.toBe(zoneText('alpha.soak', 3));
    expect(zoneText('alpha.soak', 3)).toContain('cold0 IN A');
    expect(zoneText('alpha.soak', 2)).not.toContain('cold0 IN A');
    expect(zoneText('alpha.soak', 2, { broken: true })).toMatch(/10\.0\.0\.300\n$/);
  });
});
