/**
 * A zone named signs itself, against real BIND 9.18: zones-example/example.test served with
 * `dnssec-policy default; inline-signing yes;`, so named makes its own key, signs, and serves the
 * signed copy under a serial of its own. Built from the unsigned file for such a zone
 * (response/named-signed.ts), every answer must equal named's, before and after named re-signs
 * (moving its serial), and everything signing changes (DO=1, the SOA and its serial, the DNSSEC
 * types) must be left to BIND.
 */
import * as path from 'node:path';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { readNamedConf } from '../../sidecar/named-conf/read';
import { buildForNamedSigner } from '../../sidecar/response/named-signed';
import type { QueryBits } from '../../sidecar/response/build';
import { soaSerialOf } from '../../sidecar/run/zone-registry';
import { soaSerialOffset } from '../../sidecar/zone/model';
import { decodeMessage } from '../../sidecar/response/decode';
import { parseZoneFile } from '../../sidecar/zone/parse';
import { signedFormDiffers, zoneFromTransfer } from '../../sidecar/zone/transfer';
import { transferZone } from '../../sidecar/dns/axfr';
import { startBind, type BindServer } from '../support/bind';
import { queryMany } from '../support/dns-client';
import { requireTools } from '../support/require-root';
import { compareWithBind, encodeQuery, serverOptions } from './compare';

const EXAMPLE = path.resolve(__dirname, '../../zones-example');

const VARIANTS: QueryBits[] = [
  { rd: false, edns: false, do: false },
  { rd: true, edns: true, do: false, udpSize: 1232 },
  { rd: false, edns: true, do: false, udpSize: 1232, family: 6 },
  { rd: false, edns: true, do: true, udpSize: 1232 },
];

/** What goes to BIND for a zone named signs: what signing changes, and sizes. */
const EXPECTED_REFUSALS = [
  /^named signs this zone: /,
  /^response is \d+ bytes, more than the (512|1232) bytes/,
  /^response trimmed inside an RRset that BIND rotates/,
];

const DNSKEY = 48;
const SOA = 6;

/** The signed zone's SOA serial and how many keys its DNSKEY RRset holds, as named serves them. */
async function signedState(bind: BindServer): Promise<{ serial: number; keys: number }> {
  const [soa, keys] = await queryMany([encodeQuery('example.test', SOA, { rd: false, edns: false, do: false }), encodeQuery('example.test', DNSKEY, { rd: false, edns: true, do: false, udpSize: 1232 })], {
    server: '127.0.0.1',
    port: bind.port,
    timeoutMs: 2000,
    retries: 2,
  });
  const soaRaw = soa.answer?.raw;
  if (!soaRaw) throw new Error(`no SOA from named: ${soa.error}`);
  const rdata = decodeMessage(soaRaw).answer[0].rdata;
  return { serial: rdata.readUInt32BE(soaSerialOffset(rdata)), keys: keys.answer ? keys.answer.raw.readUInt16BE(6) : 0 };
}

async function waitFor<T>(what: string, probe: () => Promise<T>, done: (v: T) => boolean, timeoutMs: number, intervalMs = 250): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (done(v)) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(v)})`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

describe('a zone named signs itself (inline-signing) vs real BIND 9.18', () => {
  it('builds from the unsigned file only answers equal to named’s, before and after named re-signs', async () => {
    requireTools('BIND comparison', ['named', 'named-checkconf', 'rndc']);
    // named writes keys, the signed copy and journals beside the zone file: a copy of its own.
    const dir = mkdtempSync(path.join(tmpdir(), 'santa-inline-'));
    cpSync(EXAMPLE, dir, { recursive: true });
    const file = path.join(dir, 'example.test.zone');
    const bind = await startBind({
      zones: [{ name: 'example.test', file, options: 'dnssec-policy default; inline-signing yes;' }],
      directory: dir,
      addresses: ['127.0.0.1', '::1'],
      extraOptions: 'minimal-responses no-auth-recursive; edns-udp-size 1232; max-udp-size 1232;',
    });
    try {
      const config = readNamedConf(bind.confPath).zones.find((z) => z.name === 'example.test');
      expect(config).toMatchObject({ offloadable: true, signedByNamed: true });
      const zone = parseZoneFile(file, 'example.test', { includeBase: dir });
      const first = await waitFor('named to sign the zone', () => signedState(bind), (s) => s.keys > 0, 30_000);
      // The scenario this is about: named serves a serial that is not the file's.
      expect(first.serial).not.toBe(soaSerialOf(zone));

      const compare = async (label: string) => {
        const result = await compareWithBind(bind, [zone], VARIANTS, serverOptions('no-auth-recursive'), EXPECTED_REFUSALS, buildForNamedSigner);
        console.log(`${label}:\n${result.report}`);
        expect(result.failures.slice(0, 20)).toEqual([]);
        expect(result.identical + result.identicalExceptOrder).toBe(result.compared);
        return result;
      };
      const before = await compare(`signed by named, serial ${first.serial}`);
      // Data answers for three of the four bit sets: most questions of the zone are positive.
      expect(before.compared).toBeGreaterThan(200);
      const refusedFor = (pattern: RegExp) => [...before.refusals].filter(([r]) => pattern.test(r)).reduce((n, [, k]) => n + k, 0);
      expect(refusedFor(/DO=1 answer carries its signatures/)).toBeGreaterThan(50);
      expect(refusedFor(/carries the SOA/)).toBeGreaterThan(20);

      // A re-sign: named signs again and moves the serial on its own (it also does so while
      // its first signing is still under way, as it often is here).
      await bind.rndc('sign', 'example.test');
      const after = await waitFor('named to re-sign', () => signedState(bind), (s) => s.serial !== first.serial, 30_000);
      const again = await compare(`after named re-signed, serial ${after.serial}`);
      expect(again.compared).toBe(before.compared);

      // The signed copy itself, transferred from named once it has stopped re-signing for now:
      // the zone as served, DO=1 answers and all.
      let last = -1;
      await waitFor('named to settle (no serial change for 2 s)', async () => {
        const now = (await signedState(bind)).serial;
        const settled = now === last;
        last = now;
        return settled;
      }, (settled) => settled, 60_000, 2000);
      const transferred = zoneFromTransfer('example.test', await transferZone('example.test', { host: '127.0.0.1', port: bind.port }), 'AXFR');
      expect(soaSerialOf(transferred)).toBe(last);
      expect(transferred.signed).toBe(true);
      expect(signedFormDiffers(zone, transferred)).toBeNull();
      const full = await compareWithBind(bind, [transferred], VARIANTS, serverOptions('no-auth-recursive'), EXPECTED_REFUSALS);
      console.log(`transferred, serial ${last}:\n${full.report}`);
      expect(full.failures.slice(0, 20)).toEqual([]);
      expect(full.identical + full.identicalExceptOrder).toBe(full.compared);
      // Every bit set now, DO=1 and the negative answers included.
      expect(full.compared).toBeGreaterThan(before.compared * 2);
    } finally {
      await bind.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);
});
