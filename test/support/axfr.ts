/**
 * AXFR response messages for unit tests of zone transfers: a zone's records between two copies
 * of its SOA, encoded by dns-packet (names compressed, as a server sends them).
 */
import * as packet from 'dns-packet';

export function soaRecord(zone: string, serial: number, minimum = 60): packet.Answer {
  return { type: 'SOA', name: zone, ttl: 300, class: 'IN', data: { mname: `ns1.${zone}`, rname: `hostmaster.${zone}`, serial, refresh: 3600, retry: 600, expire: 86400, minimum } };
}

/** One response message of a transfer of `zone` carrying `answers`, with `rcode`. */
export function axfrMessage(zone: string, answers: packet.Answer[], rcode = 0): Buffer {
  const wire = packet.encode({ type: 'response', id: 7, flags: packet.AUTHORITATIVE_ANSWER, questions: [{ type: 'AXFR', name: zone, class: 'IN' }], answers });
  wire[3] = (wire[3] & 0xf0) | rcode;
  return wire;
}
