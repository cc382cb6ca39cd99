/**
 * Comparing the response builder with real BIND: the questions a zone raises, queries as a stub
 * sends them, and the comparison of every built answer with named's (verify rules).
 */
import { Zone } from '../../sidecar/zone/model';
import { buildResponse, MinimalResponses, QueryBits, ServerOptions } from '../../sidecar/response/build';
import { verifyResponse } from '../../sidecar/response/verify';
import { typeCode, typeName } from '../../sidecar/zone/types';
import { parseName } from '../../sidecar/zone/name';
import { MessageWriter } from '../../sidecar/response/wire';
import { BindServer } from '../support/bind';
import { queryMany, BatchResult } from '../support/dns-client';

interface Case {
  zone: Zone;
  name: string;
  type: string;
  bits: QueryBits;
}

export function questionsFor(zone: Zone): { name: string; type: string }[] {
  const out = new Map<string, { name: string; type: string }>();
  const add = (name: string, type: string) => out.set(`${name.toLowerCase()}/${type}`, { name, type });
  for (const node of [...zone.nodes.values(), ...zone.nsec3Nodes.values()]) {
    for (const type of node.rrsets.keys()) add(node.name, typeName(type));
    for (const type of ['A', 'AAAA', 'MX', 'TXT', 'NS', 'DS', 'RRSIG', 'NSEC', 'KEY']) add(node.name, type);
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

export const BIT_VARIANTS: QueryBits[] = [
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
export function encodeQuery(name: string, type: number, bits: QueryBits): Buffer {
  const w = new MessageWriter();
  w.header(0, (bits.rd ? 0x0100 : 0) | (bits.ad ? 0x0020 : 0), [1, 0, 0, bits.edns ? 1 : 0]);
  w.question(parseName(name.endsWith('.') ? name : `${name}.`, '.'), type, 1);
  if (bits.edns) w.opt(bits.udpSize ?? 1232, bits.do);
  return w.done();
}

export function serverOptions(minimalResponses: MinimalResponses): ServerOptions {
  return { minimalResponses, ednsUdpSize: 1232, maxUdpSize: 1232 };
}

export interface Comparison {
  report: string;
  failures: string[];
  compared: number;
  identical: number;
  identicalExceptOrder: number;
  /** Answers trimmed to the UDP limit, each compared with named's UDP answer and, whole, with its TCP one. */
  trimmed: number;
  /** Questions left to BIND, by the builder's reason (sizes in it replaced by N). */
  refusals: Map<string, number>;
}

/**
 * Asks BIND every question of `zones` with each of `variants` and compares with the builder
 * (`build`, buildResponse unless the zones need another). A refusal is a failure unless one of
 * `expectedRefusals` matches its reason.
 */
export async function compareWithBind(server: BindServer, zones: Zone[], variants: QueryBits[], options: ServerOptions, expectedRefusals: RegExp[], build: typeof buildResponse = buildResponse): Promise<Comparison> {
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
  let mismatched = 0;
  let identical = 0;
  let identicalExceptOrder = 0;
  /** Equal answers whose bytes differ other than by rotation (compression, order across RRsets). */
  const otherBytes: string[] = [];
  const kinds = new Map<string, number>();
  const trimmed: { label: string; query: Buffer; family: number; complete: Buffer }[] = [];
  cases.forEach((c, i) => {
    const label = `${c.name} ${c.type} rd=${+c.bits.rd} edns=${+c.bits.edns} do=${+c.bits.do} ipv${c.bits.family ?? 4}`;
    const reply = replies[i];
    if (!reply.answer) {
      failures.push(`${label}: BIND did not answer: ${reply.error}`);
      return;
    }
    const built = build(c.zone, { name: c.name, type: c.type }, c.bits, options);
    if (!built.cacheable) {
      const reason = built.reason.replace(/\d+ bytes, more/, 'N bytes, more');
      refusals.set(reason, (refusals.get(reason) ?? 0) + 1);
      if (!expectedRefusals.some((r) => r.test(built.reason))) failures.push(`${label}: unexpected refusal: ${built.reason}`);
      // A size refusal is right only if BIND's own UDP answer is not the full one.
      if (/bytes, more than/.test(built.reason)) {
        const tc = (reply.answer.raw[2] & 0x02) !== 0;
        const full = build(c.zone, { name: c.name, type: c.type }, { ...c.bits, udpSize: 65535 }, { ...options, maxUdpSize: 65535 });
        const bindSentEverything = full.cacheable && verifyResponse(full.wire, reply.answer.raw).mismatches.length === 0;
        if (!tc && bindSentEverything) failures.push(`${label}: refused for size, but BIND sent the whole answer in ${reply.answer.raw.length} bytes`);
      }
      return;
    }
    compared++;
    kinds.set(built.kind, (kinds.get(built.kind) ?? 0) + 1);
    if (built.complete) trimmed.push({ label, query: encodeQuery(c.name, typeCode(c.type) as number, c.bits), family: c.bits.family ?? 4, complete: built.complete });
    const v = verifyResponse(built.wire, reply.answer.raw);
    if (v.mismatches.length > 0) mismatched++;
    if (v.mismatches.length > 0) failures.push(`${label}:\n    ${v.mismatches.join('\n    ')}\n    ours ${built.wire.toString('hex')}\n    BIND ${reply.answer.raw.toString('hex')}`);
    if (v.byteIdentical) identical++;
    else if (v.identicalExceptOrder) identicalExceptOrder++;
    else if (v.mismatches.length === 0) otherBytes.push(`${label}\n    ours ${built.wire.toString('hex')}\n    BIND ${reply.answer.raw.toString('hex')}`);
  });

  // A trimmed answer is verified in santa run by its whole form against named over TCP.
  for (const family of [4, 6]) {
    const mine = trimmed.filter((t) => t.family === family);
    if (mine.length === 0) continue;
    const answers = await queryMany(mine.map((t) => t.query), { server: family === 4 ? '127.0.0.1' : '::1', port: server.port, transport: 'tcp', timeoutMs: 2000 });
    mine.forEach((t, j) => {
      const tcp = answers[j].answer;
      if (!tcp) failures.push(`${t.label} over TCP: BIND did not answer: ${answers[j].error}`);
      else {
        const v = verifyResponse(t.complete, tcp.raw);
        if (v.mismatches.length > 0) failures.push(`${t.label}, whole answer against TCP:\n    ${v.mismatches.join('\n    ')}`);
      }
    });
  }

  const report = [
    `questions sent to BIND: ${cases.length} (${cases.length / variants.length} name/type pairs x ${variants.length} bit variants)`,
    `built and compared: ${compared}; equal by verify: ${compared - mismatched}; trimmed to the UDP limit as named does: ${trimmed.length}`,
    `byte-identical: ${identical}; identical except RRset rotation: ${identicalExceptOrder}; other byte differences: ${compared - identical - identicalExceptOrder}`,
    `kinds: ${[...kinds].map(([k, n]) => `${k}=${n}`).join(' ')}`,
    `left to BIND: ${[...refusals].map(([r, n]) => `${n} x "${r}"`).join('; ') || 'none'}`,
    ...otherBytes.slice(0, 5).map((d) => `equal, other bytes: ${d}`),
  ].join('\n');
  return { report, failures, compared, identical, identicalExceptOrder, trimmed: trimmed.length, refusals };
}
