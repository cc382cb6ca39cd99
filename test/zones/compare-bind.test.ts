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
import { buildResponse, MinimalResponses, QueryBits, ServerOptions } from '../../sidecar/response/build';
import { verifyResponse } from '../../sidecar/response/verify';
import { typeCode, typeName } from '../../sidecar/zone/types';
import { parseName } from '../../sidecar/zone/name';
import { MessageWriter } from '../../sidecar/response/wire';
import { startBind, BindServer } from '../support/bind';
import { queryMany, BatchResult } from '../support/dns-client';
import { requireTools } from '../support/require-root';

const EXAMPLE = path.resolve(__dirname, '../../zones-example');

/** Reasons the builder may give for leaving a question to BIND in these zones. */
const EXPECTED_REFUSALS = [/^response is \d+ bytes, more than the (512|1232) bytes/, /^signed zone and DO=1/, /^RRSIG questions/];

interface Case {
  zone: Zone;
  name: string;
  type: string;
  bits: QueryBits;
}

function questionsFor(zone: Zone): { name: string; type: string }[] {
  const out = new Map<string, { name: string; type: string }>();
  const add = (name: string, type: string) => out.set(`${name.toLowerCase()}/${type}`, { name, type });
  for (const node of [...zone.nodes.values(), ...zone.nsec3Nodes.values()]) {
    for (const type of node.rrsets.keys()) add(node.name, typeName(type));
    for (const type of ['A', 'AAAA', 'MX', 'TXT', 'NS', 'DS']) add(node.name, type);
  }
  for (const key of zone.emptyNonTerminals) {
    add(key, 'A');
    add(key, 'TXT');
  }
  const o = zone.origin;
  for (const prefix of ['nonexistent.', 'a.b.nonexistent.', 'anything.wild.', 'two.labels.wild.', 'foo.cw.', 'z.x.y.deep.', 'nope.y.deep.', 'www.sub.', 'deep.below.ns1.sub.', 'host.ext.', 'www.legacy.', 'mx.legacy.', 'host.old.', 'missing.old.', 'alpha.hosts.', 'WWW.', 'mixedcase.']) {
    for (const type of ['A', 'AAAA', 'TXT', 'MX']) add(prefix + o, type);
  }
  return [...out.values()];
}

const BIT_VARIANTS: QueryBits[] = [
  { rd: false, edns: false, do: false },
  { rd: true, edns: false, do: false },
  { rd: false, edns: true, do: false, udpSize: 1232 },
  { rd: true, edns: true, do: false, udpSize: 1232 },
  { rd: false, edns: true, do: true, udpSize: 1232 },
  { rd: true, edns: true, do: true, udpSize: 1232 },
  // Over IPv6 named puts AAAA glue first: the same questions must be built per family.
  { rd: false, edns: false, do: false, family: 6 },
  { rd: false, edns: true, do: false, udpSize: 1232, family: 6 },
];

/** The query as a stub sends it, ID 0; built here because dns-packet cannot name every type. */
function encodeQuery(name: string, type: number, bits: QueryBits): Buffer {
  const w = new MessageWriter();
  w.header(0, bits.rd ? 0x0100 : 0, [1, 0, 0, bits.edns ? 1 : 0]);
  w.question(parseName(name.endsWith('.') ? name : `${name}.`, '.'), type, 1);
  if (bits.edns) w.opt(bits.udpSize ?? 1232, bits.do);
  return w.done();
}

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
    const result = await compareWithBind(bind as BindServer, zones, BIT_VARIANTS, serverOptions(conf.options.minimalResponses));
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
      const result = await compareWithBind(bind, zones, variants, serverOptions(setting));
      console.log(`minimal-responses ${setting}:\n${result.report}`);
      expect(result.failures.slice(0, 20)).toEqual([]);
      expect(result.compared).toBeGreaterThan(500);
      expect(result.identical + result.identicalExceptOrder).toBe(result.compared);
    } finally {
      await bind.stop();
    }
  }, 300_000);
});

function serverOptions(minimalResponses: MinimalResponses): ServerOptions {
  return { minimalResponses, ednsUdpSize: 1232, maxUdpSize: 1232 };
}

interface Comparison {
  report: string;
  failures: string[];
  compared: number;
  identical: number;
  identicalExceptOrder: number;
}

/** Asks BIND every question of `zones` with each of `variants` and compares with the builder. */
async function compareWithBind(server: BindServer, zones: Zone[], variants: QueryBits[], options: ServerOptions): Promise<Comparison> {
  const cases: Case[] = [];
  for (const zone of zones) for (const q of questionsFor(zone)) for (const bits of variants) cases.push({ zone, name: q.name, type: q.type, bits });

  const replies: BatchResult[] = new Array(cases.length);
  for (const family of [4, 6]) {
    const indexes = cases.map((c, i) => ((c.bits.family ?? 4) === family ? i : -1)).filter((i) => i >= 0);
    if (indexes.length === 0) continue;
    const wires = indexes.map((i) => encodeQuery(cases[i].name, typeCode(cases[i].type) as number, cases[i].bits));
    const answers = await queryMany(wires, { server: family === 4 ? '127.0.0.1' : '::1', port: server.port, timeoutMs: 2000, retries: 2 });
    indexes.forEach((caseIndex, j) => (replies[caseIndex] = answers[j]));
  }

  const failures: string[] = [];
  const refusals = new Map<string, number>();
  let compared = 0;
  let identical = 0;
  let identicalExceptOrder = 0;
  const kinds = new Map<string, number>();
  cases.forEach((c, i) => {
    const label = `${c.name} ${c.type} rd=${+c.bits.rd} edns=${+c.bits.edns} do=${+c.bits.do} ipv${c.bits.family ?? 4}`;
    const reply = replies[i];
    if (!reply.answer) {
      failures.push(`${label}: BIND did not answer: ${reply.error}`);
      return;
    }
    const built = buildResponse(c.zone, { name: c.name, type: c.type }, c.bits, options);
    if (!built.cacheable) {
      const reason = built.reason.replace(/\d+ bytes, more/, 'N bytes, more');
      refusals.set(reason, (refusals.get(reason) ?? 0) + 1);
      if (!EXPECTED_REFUSALS.some((r) => r.test(built.reason))) failures.push(`${label}: unexpected refusal: ${built.reason}`);
      // A size refusal is right only if BIND's own UDP answer is not the full one.
      if (/bytes, more than/.test(built.reason)) {
        const tc = (reply.answer.raw[2] & 0x02) !== 0;
        const full = buildResponse(c.zone, { name: c.name, type: c.type }, { ...c.bits, udpSize: 65535 }, { ...options, maxUdpSize: 65535 });
        const bindSentEverything = full.cacheable && verifyResponse(full.wire, reply.answer.raw).mismatches.length === 0;
        if (!tc && bindSentEverything) failures.push(`${label}: refused for size, but BIND sent the whole answer in ${reply.answer.raw.length} bytes`);
      }
      return;
    }
    compared++;
    kinds.set(built.kind, (kinds.get(built.kind) ?? 0) + 1);
    const v = verifyResponse(built.wire, reply.answer.raw);
    if (v.mismatches.length > 0) failures.push(`${label}:\n    ${v.mismatches.join('\n    ')}\n    ours ${built.wire.toString('hex')}\n    BIND ${reply.answer.raw.toString('hex')}`);
    if (v.byteIdentical) identical++;
    else if (v.identicalExceptOrder) identicalExceptOrder++;
  });

  const report = [
    `questions sent to BIND: ${cases.length} (${cases.length / variants.length} name/type pairs x ${variants.length} bit variants)`,
    `built and compared: ${compared}; equal by verify: ${compared - failures.length}`,
    `byte-identical: ${identical}; identical except RRset rotation: ${identicalExceptOrder}; other byte differences: ${compared - identical - identicalExceptOrder}`,
    `kinds: ${[...kinds].map(([k, n]) => `${k}=${n}`).join(' ')}`,
    `left to BIND: ${[...refusals].map(([r, n]) => `${n} x "${r}"`).join('; ') || 'none'}`,
  ].join('\n');
  return { report, failures, compared, identical, identicalExceptOrder };
}
