/**
 * How fast the builder makes DO=1 answers from a signed zone: a generated zone of N names signed
 * by dnssec-signzone (NSEC, then NSEC3), every name asked for its A record (positive) and as many
 * names that do not exist (NXDOMAIN, which needs the proofs), with RD=1 and RD=0. Numbers on one
 * CPU, not assertions; the first build of each zone (chains sorted, nodes built) is not timed.
 *
 *   npx tsx test/bench/dnssec-build.ts [--names N]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildResponse } from '../../sidecar/response/build';
import { parseZoneFile } from '../../sidecar/zone/parse';
import { signZone } from '../support/sign-zone';
import { positiveIntArg } from './args';

async function main(): Promise<void> {
  const names = positiveIntArg('--names', 20_000);
  const source = mkdtempSync(join(tmpdir(), 'santa-dnssec-bench-'));
  const lines = ['$TTL 300', '@ SOA ns1 hostmaster 1 3600 600 86400 300', '@ NS ns1', 'ns1 A 192.0.2.1'];
  for (let i = 0; i < names; i++) lines.push(`h${i} A 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
  writeFileSync(join(source, 'bench.test.zone'), `${lines.join('\n')}\n`);
  const options = { minimalResponses: 'no-auth-recursive' as const, ednsUdpSize: 1232 };
  console.log(`DO=1 answers built per second on one CPU, zone of ${names} names signed by dnssec-signzone (ECDSA P-256)`);
  console.log('| chain | RD | question | answers/s | mean bytes |');
  console.log('|---|---:|---|---:|---:|');
  try {
    for (const nsec3 of [false, true]) {
      const signed = await signZone({ sourceDir: source, zoneFile: 'bench.test.zone', origin: 'bench.test', nsec3 });
      try {
        const zone = parseZoneFile(signed.file, 'bench.test', { includeBase: signed.dir });
        for (const rd of [true, false]) {
          for (const [label, name] of [['positive (A)', (i: number) => `h${i}.bench.test`], ['NXDOMAIN', (i: number) => `x${i}.bench.test`]] as const) {
            const bits = { rd, edns: true, do: true };
            buildResponse(zone, { name: name(0), type: 'A' }, bits, options);
            let bytes = 0;
            const started = process.hrtime.bigint();
            for (let i = 0; i < names; i++) {
              const r = buildResponse(zone, { name: name(i), type: 'A' }, bits, options);
              if (!r.cacheable) throw new Error(`${name(i)} A not built: ${r.reason}`);
              bytes += r.wire.length;
            }
            const seconds = Number(process.hrtime.bigint() - started) / 1e9;
            console.log(`| ${nsec3 ? 'NSEC3' : 'NSEC'} | ${rd ? 1 : 0} | ${label} | ${Math.round(names / seconds)} | ${Math.round(bytes / names)} |`);
          }
        }
      } finally {
        rmSync(signed.dir, { recursive: true, force: true });
      }
    }
  } finally {
    rmSync(source, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
