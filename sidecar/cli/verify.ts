/**
 * `santa verify`: builds the answer to every question the zones can be asked (each owner name and
 * type, the empty non-terminals, and a name that does not exist), with RD and EDNS on and off
 * (and DO for signed zones), and compares each with BIND's own answer over TCP. Zones are read as
 * santa run reads them: from their files, or by transfer with --signed-zones / --secondary-zones. The cache only ever installs answers that
 * pass this same comparison; this command shows the whole picture at once.
 */
import type { SecondaryZoneSource, SignedZoneSource } from '../config/schema';
import { transferZone } from '../dns/axfr';
import { encodeQuery, exchange, type ServerAddress } from '../dns/client';
import { readNamedConf } from '../named-conf/read';
import type { ServerOptions } from '../response/build';
import { builderFor } from '../response/named-signed';
import { verifyResponse } from '../response/verify';
import { ZoneRegistry } from '../run/zone-registry';
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
/** For signed zones as well: the DO=1 answers, signatures and proofs included. */
const DNSSEC_BIT_SETS = [
  { rd: false, edns: true, do: true },
  { rd: true, edns: true, do: true },
];

function questionsOf(zone: Zone): { name: string; type: number }[] {
  const out: { name: string; type: number }[] = [];
  for (const node of zone.nodes.values()) for (const type of node.rrsets.keys()) out.push({ name: node.name, type });
  for (const ent of zone.emptyNonTerminals) out.push({ name: ent, type: A });
  out.push({ name: `santa-verify-nonexistent.${zone.origin}`, type: A });
  return out;
}

export interface VerifyOptions {
  /** As santa.yaml's bind.signed_zones and bind.secondary_zones: zones taken by transfer are
   * transferred from `bind` and their answers (DO=1 ones too, when signed) compared. */
  signedZones?: SignedZoneSource;
  secondaryZones?: SecondaryZoneSource;
}

export async function verifyZones(namedConf: string, bind: ServerAddress, opts: VerifyOptions = {}): Promise<VerifyReport> {
  const conf = readNamedConf(namedConf);
  const server: ServerOptions = { minimalResponses: conf.options.minimalResponses, ednsUdpSize: conf.options.ednsUdpSize, maxUdpSize: conf.options.maxUdpSize };
  const report: VerifyReport = { zones: 0, questions: 0, notCacheable: 0, equal: 0, byteIdentical: 0, mismatched: 0, errors: 0, problems: [] };
  // The zones santa run would serve, read the way it would read them.
  const registry = new ZoneRegistry(conf, opts);
  let id = 1;
  for (const z of registry.all()) {
    const name = z.state.zone;
    const parsed = z.readsFile ? registry.reparse(name) : undefined;
    if (parsed?.state.status === 'error') {
      report.errors++;
      report.problems.push(`${z.config.name}: ${parsed.state.error}`);
      continue;
    }
    if (z.transfer) {
      let outcome;
      try {
        outcome = registry.applyTransfer(name, await transferZone(name, bind), `AXFR from ${bind.host}#${bind.port}`);
      } catch (e) {
        outcome = { refused: (e as Error).message };
      }
      if ('refused' in outcome) {
        report.errors++;
        report.problems.push(`${z.config.name}: transfer not taken: ${outcome.refused}`);
        continue;
      }
    }
    const zone = z.model as Zone;
    const build = builderFor(z.state.signedByNamed);
    report.zones++;
    for (const q of questionsOf(zone)) {
      for (const bits of zone.signed ? [...BIT_SETS, ...DNSSEC_BIT_SETS] : BIT_SETS) {
        report.questions++;
        const built = build(zone, { name: q.name, type: q.type }, bits, server);
        if (!built.cacheable) {
          report.notCacheable++;
          continue;
        }
        const label = `${q.name} ${typeName(q.type)} ${bits.rd ? '+rd' : '-rd'} ${bits.edns ? '+edns' : '-edns'}${bits.do ? ' +do' : ''}`;
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
