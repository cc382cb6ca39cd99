/** Entry lookup identity: exact name bytes (lower-cased), type, class and the key bits. */
import type { KeyBits, ModelEntry } from './types';

/** DNS compares names ASCII case-insensitively (RFC 4343): only A-Z fold. */
export function lowerAscii(name: Uint8Array): Buffer {
  const out = Buffer.from(name);
  for (let i = 0; i < out.length; i++) if (out[i] >= 0x41 && out[i] <= 0x5a) out[i] |= 0x20;
  return out;
}

export function entryId(name: Uint8Array, qtype: number, qclass: number, bits: KeyBits): string {
  const b = `${bits.rd ? 'R' : '-'}${bits.edns ? 'E' : '-'}${bits.dnssecOk ? 'D' : '-'}${bits.v6 ? '6' : '4'}`;
  return `${Buffer.from(name).toString('hex')}/${qtype}/${qclass}/${b}`;
}

export function indexEntries(entries: readonly ModelEntry[]): Map<string, ModelEntry> {
  return new Map(entries.map((e) => [entryId(e.name, e.qtype, e.qclass, e.bits), e]));
}
