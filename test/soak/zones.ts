/**
 * The soak's zones and the questions asked of them. Pure: zone text is a function of (zone,
 * serial), and most records change with every serial (the A address and the TXT text spell it),
 * so two serials of a zone give different answers and a stale answer cannot pass for a fresh one.
 */

export const SOAK_ZONES = ['alpha.soak', 'beta.soak', 'gamma.soak'] as const;

/** Names asked often: Santa should learn them from the query log and answer them from XDP. */
const HOT_PER_ZONE = 8;
/** Names asked rarely (mostly answered by BIND): the load that keeps the query log flowing. */
const COLD_PER_ZONE = 60;

export interface SoakQuestion {
  readonly zone: string;
  readonly name: string;
  /** dns-packet mnemonic. */
  readonly type: 'A' | 'AAAA' | 'TXT' | 'MX' | 'SOA' | 'NS';
  readonly rd: boolean;
  readonly edns: boolean;
  readonly hot: boolean;
}

/** 10.x.y.z spelling `serial` (serials stay below 2^24 here). */
function serialAddress(serial: number, host: number): string {
  return `10.${(serial >> 16) & 255}.${(serial >> 8) & 255}.${(serial + host) & 255}`;
}

/**
 * The zone file for one serial. `broken` appends a record BIND and Santa both reject (a bad
 * address), so the whole file fails to load and the previous data must stay in service.
 */
export function zoneText(zone: string, serial: number, opts: { broken?: boolean } = {}): string {
  const lines = [
    '$TTL 300',
    `@ IN SOA ns1.${zone}. hostmaster.${zone}. ${serial} 3600 600 86400 300`,
    `@ IN NS ns1.${zone}.`,
    `@ IN MX 10 mail.${zone}.`,
    'ns1 IN A 10.53.0.2',
    `www IN A ${serialAddress(serial, 1)}`,
    `www IN A ${serialAddress(serial, 2)}`,
    `api IN A ${serialAddress(serial, 3)}`,
    `mail IN A ${serialAddress(serial, 4)}`,
    `txt IN TXT "zone ${zone} serial ${serial}"`,
    // Unchanged across serials: its answer may legitimately come from any serial's data.
    'static IN A 192.0.2.53',
    // Cold names exist only on odd serials, so NXDOMAIN <-> NOERROR flips with every edit.
    ...(serial % 2 === 1 ? Array.from({ length: COLD_PER_ZONE / 2 }, (_, i) => `cold${i} IN A ${serialAddress(serial, 10 + i)}`) : []),
  ];
  if (opts.broken) lines.push('broken IN A 10.0.0.300');
  return lines.join('\n') + '\n';
}

/** Every question the load asks, hot ones first in each zone. */
export function soakQuestions(): SoakQuestion[] {
  const out: SoakQuestion[] = [];
  for (const zone of SOAK_ZONES) {
    const hot: Omit<SoakQuestion, 'zone' | 'hot'>[] = [
      { name: `www.${zone}`, type: 'A', rd: false, edns: true },
      { name: `www.${zone}`, type: 'A', rd: true, edns: true },
      { name: `api.${zone}`, type: 'A', rd: false, edns: false },
      { name: `txt.${zone}`, type: 'TXT', rd: false, edns: true },
      { name: zone, type: 'MX', rd: false, edns: true },
      { name: zone, type: 'SOA', rd: false, edns: true },
      { name: `static.${zone}`, type: 'A', rd: false, edns: true },
      // NODATA: the serial travels in the SOA of the authority section.
      { name: `www.${zone}`, type: 'AAAA', rd: false, edns: true },
    ];
    if (hot.length !== HOT_PER_ZONE) throw new Error('hot question list and HOT_PER_ZONE disagree');
    for (const q of hot) out.push({ ...q, zone, hot: true });
    for (let i = 0; i < COLD_PER_ZONE; i++) out.push({ zone, name: `cold${i}.${zone}`, type: 'A', rd: false, edns: true, hot: false });
  }
  return out;
}
