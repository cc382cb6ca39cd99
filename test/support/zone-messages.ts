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

/** The first message of a primary's answer to a zone transfer (AXFR, or IXFR), as a secondary
 * receives it: the question, then the zone's SOA. */
export function transferResponse(zone: string, opts: { type?: 'AXFR' | 'IXFR'; rcode?: number; serial?: number } = {}): Buffer {
  return dnsPacket.encode({
    type: 'response',
    id: 4444,
    flags: dnsPacket.AUTHORITATIVE_ANSWER | (opts.rcode ?? 0),
    questions: [{ name: zone, type: opts.type ?? 'AXFR', class: 'IN' }],
    answers: [{ name: zone, type: 'SOA', ttl: 300, data: { mname: `ns1.${zone}`, rname: `hostmaster.${zone}`, serial: opts.serial ?? 2, refresh: 3600, retry: 600, expire: 86400, minimum: 300 } }],
  });
}
