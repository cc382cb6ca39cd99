/**
 * `santa verify`: builds the answer to every question the zones can be asked (each owner name and
 * type, the empty non-terminals, and a name that does not exist), with RD and EDNS on and off,
 * and compares each with BIND's own answer over TCP. The cache only ever installs answers that
 * pass this same comparison; this command shows the whole picture at once.
 */
import { encodeQuery, exchange, type ServerAddress } from '../dns/client';
import { readNamedConf } from '../named-conf/read';
import type { ServerOptions } from '../response/build';
import { builderFor } from '../response/named-signed';
import { verifyResponse } from '../response/verify';
import { parseZoneFile } from '../zone/parse';
import type { Zone } from '../zone/model';
import { typeName } from '../zone/types';

export interface VerifyReport {
  zones: number;
  questions: number;
  notCacheable: number;
  equal: number;
  byteIdentical: number;
  mismatched: number;
  errors: number;
  problems: string[];
}

const A = 1;
const BIT_SETS = [
  { rd: false, edns: false, do: false },
  { rd: true, edns: false, do: false },
  { rd: false, edns: true, do: false },
  { rd: true, edns: true, do: false },
];

function questionsOf(zone: Zone): { name: string; type: number }[] {
  const out: { name: string; type: number }[] = [];
  for (const node of zone.nodes.values()) for (const type of node.rrsets.keys()) out.push({ name: node.name, type });
  for (const ent of zone.emptyNonTerminals) out.push({ name: ent, type: A });
  out.push({ name: `santa-verify-nonexistent.${zone.origin}`, type: A });
  return out;
}

export async function verifyZones(namedConf: string, bind: ServerAddress): Promise<VerifyReport> {
  const conf = readNamedConf(namedConf);
  const server: ServerOptions = { minimalResponses: conf.options.minimalResponses, ednsUdpSize: conf.options.ednsUdpSize, maxUdpSize: conf.options.maxUdpSize };
  const report: VerifyReport = { zones: 0, questions: 0, notCacheable: 0, equal: 0, byteIdentical: 0, mismatched: 0, errors: 0, problems: [] };
  let id = 1;
  // Zones whose file Santa cannot read (a secondary's raw-format copy) are only ever served from
  // transfers, which this command does not take.
  for (const zc of conf.zones.filter((z) => z.offloadable && z.file && !z.fileUnreadable)) {
    let zone: Zone;
    try {
      zone = parseZoneFile(zc.file as string, zc.name, { includeBase: conf.options.directory });
    } catch (e) {
      report.errors++;
      report.problems.push(`${zc.name}: ${(e as Error).message}`);
      continue;
    }
    report.zones++;
    for (const q of questionsOf(zone)) {
      for (const bits of BIT_SETS) {
        report.questions++;
        const built = builderFor(zc.signedByNamed)(zone, { name: q.name, type: q.type }, bits, server);
        if (!built.cacheable) {
          report.notCacheable++;
          continue;
        }
        const label = `${q.name} ${typeName(q.type)} ${bits.rd ? '+rd' : '-rd'} ${bits.edns ? '+edns' : '-edns'}`;
        try {
          const theirs = await exchange(encodeQuery({ name: q.name, type: q.type }, { ...bits, udpSize: 1232 }, id++ & 0xffff), bind, 'tcp');
          const result = verifyResponse(built.complete ?? built.wire, theirs);
          if (result.mismatches.length === 0) {
            report.equal++;
            if (result.byteIdentical) report.byteIdentical++;
          } else {
            report.mismatched++;
            report.problems.push(`${label}: ${result.mismatches.join('; ')}`);
          }
        } catch (e) {
          report.errors++;
          report.problems.push(`${label}: ${(e as Error).message}`);
        }
      }
    }
  }
  return report;
}

export function formatVerify(r: VerifyReport): string {
  const lines = [
    `zones ${r.zones}, questions ${r.questions} (${r.notCacheable} not cacheable, never served from XDP)`,
    `equal to BIND ${r.equal} (byte-identical ${r.byteIdentical}), mismatched ${r.mismatched}, errors ${r.errors}`,
    ...r.problems.map((p) => `  ${p}`),
  ];
  return lines.join('\n') + '\n';
}
