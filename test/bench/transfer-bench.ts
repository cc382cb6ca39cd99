/**
 * Zone transfer benchmark (bind.signed_zones: transfer): how long a transfer's messages take to
 * become a zone model, and to be checked against the zone file's model, on a generated zone.
 * Prints numbers; asserts nothing. No network: the AXFR messages are encoded here.
 *
 *   npx tsx --expose-gc test/bench/transfer-bench.ts [records=1000000]
 */
import * as packet from 'dns-packet';
import type { Zone } from '../../sidecar/zone/model';
import { signedFormDiffers, zoneFromTransfer } from '../../sidecar/zone/transfer';

const records = Number(process.argv[2] ?? 1_000_000);
const ZONE = 'bench.test';

function messages(count: number): Buffer[] {
  const soa: packet.Answer = { type: 'SOA', name: ZONE, ttl: 3600, class: 'IN', data: { mname: `ns1.${ZONE}`, rname: `hostmaster.${ZONE}`, serial: 1, refresh: 7200, retry: 900, expire: 1209600, minimum: 300 } };
  const out: Buffer[] = [];
  let batch: packet.Answer[] = [soa, { type: 'NS', name: ZONE, ttl: 3600, class: 'IN', data: `ns1.${ZONE}` }, { type: 'A', name: `ns1.${ZONE}`, ttl: 3600, class: 'IN', data: '192.0.2.1' }];
  const flush = () => {
    out.push(packet.encode({ type: 'response', id: 1, flags: packet.AUTHORITATIVE_ANSWER, questions: [{ type: 'AXFR', name: ZONE }], answers: batch }));
    batch = [];
  };
  for (let i = 3; i < count; i++) {
    batch.push({ type: 'A', name: `h${i}.${ZONE}`, ttl: 3600, class: 'IN', data: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` });
    if (batch.length === 400) flush();
  }
  batch.push(soa);
  flush();
  return out;
}

function cpuSeconds(run: () => void): number {
  const before = process.cpuUsage();
  run();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1e6;
}

function main(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  const stream = messages(records);
  const wire = stream.reduce((n, m) => n + m.length, 0);
  gc?.();
  const rssBefore = process.memoryUsage().rss;
  let transferred!: Zone;
  const read = cpuSeconds(() => (transferred = zoneFromTransfer(ZONE, stream, 'AXFR')));
  // A second model of the same data stands in for the zone file's.
  const fromFile = zoneFromTransfer(ZONE, stream, 'file');
  let differs: string | null = 'not run';
  const check = cpuSeconds(() => (differs = signedFormDiffers(fromFile, transferred)));
  gc?.();
  const mib = (n: number) => `${(n / 2 ** 20).toFixed(0)} MiB`;
  console.log(`transfer: ${transferred.recordCount.toLocaleString('en-US')} records, ${(wire / 2 ** 20).toFixed(1)} MiB of AXFR messages`);
  console.log(`model from the messages: ${read.toFixed(2)} s CPU -> ${Math.round(transferred.recordCount / read).toLocaleString('en-US')} records per CPU-second`);
  console.log(`check against the file's model: ${check.toFixed(2)} s CPU (result: ${differs ?? 'the signed form of the file'})`);
  console.log(`memory: RSS with the messages ${mib(rssBefore)}; peak RSS ${mib(process.resourceUsage().maxRSS * 1024)} holding the messages and two models`);
}

main();
