/** The DNS messages that announce a zone change on their way to BIND, as their senders build them. */
import * as dnsPacket from 'dns-packet';

export const OPCODE_NOTIFY = 4 << 11;
export const OPCODE_UPDATE = 5 << 11;

/** An UPDATE as nsupdate sends it: zone section (apex SOA IN), a prerequisite, an update. */
export function updateMessage(zone: string, opts: { response?: boolean } = {}): Buffer {
  return dnsPacket.encode({
    type: opts.response ? 'response' : 'query',
    id: 4242,
    flags: OPCODE_UPDATE,
    questions: [{ name: zone, type: 'SOA', class: 'IN' }],
    answers: [{ name: `www.${zone}`, type: 'A', class: 'NONE' as dnsPacket.RecordClass, ttl: 0, data: '192.0.2.80' }],
    authorities: [{ name: `www.${zone}`, type: 'A', ttl: 300, data: '192.0.2.81' }],
  });
}

/** A NOTIFY as a primary sends it to a secondary: question (apex SOA IN), AA set. */
export function notifyMessage(zone: string): Buffer {
  return dnsPacket.encode({ type: 'query', id: 4343, flags: OPCODE_NOTIFY | dnsPacket.AUTHORITATIVE_ANSWER, questions: [{ name: zone, type: 'SOA', class: 'IN' }] });
}
