/**
 * The response builder against real BIND 9.18 on zones-example/: for every owner name and type
 * in the example zones, the types they lack (NODATA), names synthesised from wildcards and
 * DNAMEs, names below delegations and names that do not exist, each with RD=0/1 and without
 * EDNS, with EDNS, and with EDNS+DO, the built response must equal named's (verify rules), or be
 * refused for a reason the builder gives. It prints how many are byte-identical.
 */
import * as path from 'node:path';
import { readNamedConf, NamedConf } from '../../sidecar/named-conf/read';
import { parseZoneFile } from '../../sidecar/zone/parse';
import { Zone } from '../../sidecar/zone/model';
import { MinimalResponses, QueryBits } from '../../sidecar/response/build';
import { startBind, BindServer } from '../support/bind';
import { requireTools } from '../support/require-root';
import { BIT_VARIANTS, compareWithBind, serverOptions } from './compare';

const EXAMPLE = path.resolve(__dirname, '../../zones-example');

/** Reasons the builder may give for leaving a question to BIND in these zones. */
const EXPECTED_REFUSALS = [/^response is \d+ bytes, more than the (512|1232) bytes/, /^DNSSEC: no closest encloser proof$/];

describe('response builder vs real BIND 9.18 on zones-example', () => {
  let bind: BindServer | undefined;
  let conf: NamedConf;
  const zones: Zone[] = [];

  beforeAll(async () => {
    requireTools('BIND comparison', ['named', 'named-checkconf']);
    conf = readNamedConf(path.join(EXAMPLE, 'named.conf'), { directory: EXAMPLE });
    for (const z of conf.zones) zones.push(parseZoneFile(z.file as string, z.name, { includeBase: conf.options.directory }));
    bind = await startBind({
      zones: conf.zones.map((z) => ({ name: z.name, file: z.file as string })),
      directory: conf.options.directory,
      addresses: ['127.0.0.1', '::1'],
      extraOptions: `minimal-responses ${conf.options.minimalResponses}; edns-udp-size ${conf.options.ednsUdpSize}; max-udp-size ${conf.options.maxUdpSize};`,
    });
  }, 60_000);

  afterAll(async () => {
    await bind?.stop();
  });

  it('reads every example zone and marks them offloadable', () => {
    expect(conf.zones.map((z) => [z.name, z.offloadable, z.reason])).toEqual([
      ['example.test', true, undefined],
      ['other.test', true, undefined],
      ['signed.test', true, undefined],
      ['2.0.192.in-addr.arpa', true, undefined],
    ]);
    expect(zones.map((z) => z.recordCount).reduce((a, b) => a + b)).toBeGreaterThan(150);
  });

  it('builds what BIND sends for every name and type, RD 0/1, EDNS off/on/DO', async () => {
    const result = await compareWithBind(bind as BindServer, zones, BIT_VARIANTS, serverOptions(conf.options.minimalResponses), EXPECTED_REFUSALS);
    console.log(result.report);
    expect(result.failures.slice(0, 20)).toEqual([]);
    expect(result.compared).toBeGreaterThan(1000);
    // Every compared answer is equal; the bytes may differ only by BIND's RRset rotation.
    expect(result.identical + result.identicalExceptOrder).toBe(result.compared);
  }, 300_000);
});

describe('response builder vs real BIND 9.18 with other minimal-responses settings', () => {
  const conf = readNamedConf(path.join(EXAMPLE, 'named.conf'));
  const zones = conf.zones.map((z) => parseZoneFile(z.file as string, z.name, { includeBase: conf.options.directory }));
  const variants: QueryBits[] = [
    { rd: false, edns: false, do: false },
    { rd: true, edns: true, do: false, udpSize: 1232 },
    { rd: false, edns: true, do: false, udpSize: 1232 },
  ];

  it.each<MinimalResponses>(['no', 'yes', 'no-auth'])('minimal-responses %s', async (setting) => {
    requireTools('BIND comparison', ['named', 'named-checkconf']);
    const bind = await startBind({
      zones: conf.zones.map((z) => ({ name: z.name, file: z.file as string })),
      directory: conf.options.directory,
      extraOptions: `minimal-responses ${setting};`,
    });
    try {
      const result = await compareWithBind(bind, zones, variants, serverOptions(setting), EXPECTED_REFUSALS);
      console.log(`minimal-responses ${setting}:\n${result.report}`);
      expect(result.failures.slice(0, 20)).toEqual([]);
      expect(result.compared).toBeGreaterThan(500);
      expect(result.identical + result.identicalExceptOrder).toBe(result.compared);
    } finally {
      await bind.stop();
    }
  }, 300_000);
});
