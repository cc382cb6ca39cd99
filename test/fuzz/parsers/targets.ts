/**
 * What each parser promises for any input, checked on one generated input at a time: zone
 * files (and the builder on whatever zone parses), named.conf, query-log files, Frame Streams,
 * DNS wire questions, dnstap payloads and zone transfers (AXFR message streams, and the builder
 * on whatever zone they carry).
 * A check returns null when the contract held, else what broke. Crashes other than the
 * parser's own error type, errors that do not say where, and answers that differ with how the
 * input was chunked are all contract breaks; hangs and memory are the supervisor's part.
 */
import { readdirSync, readFileSync } from 'fs';
import { basename, join, resolve } from 'path';
import * as protobuf from 'protobufjs';
import { FrameStreamDecoder, FrameStreamError, encodeControlFrame, encodeDataFrame, ControlType, DNSTAP_CONTENT_TYPE, Frame } from '../../../sidecar/dnstap/frame-streams';
import { DnstapEventDecoder } from '../../../sidecar/dnstap/dnstap-message';
import { readWireQuestion, WireError } from '../../../sidecar/dnstap/query-wire';
import { interpretNamedConf, NamedConfError } from '../../../sidecar/named-conf/read';
import { QueryLogDecoder } from '../../../sidecar/querylog/decoder';
import { parseQueryLine, isUnreadable } from '../../../sidecar/querylog/parse-line';
import { parseZoneText, ZoneParseError } from '../../../sidecar/zone/parse';
import type { Zone } from '../../../sidecar/zone/model';
import { buildResponse, type QueryBits } from '../../../sidecar/response/build';
import { decodeMessage, DecodeError } from '../../../sidecar/response/decode';
import { signedFormDiffers, TransferError, zoneFromTransfer } from '../../../sidecar/zone/transfer';
import * as packet from 'dns-packet';
import { Rng } from '../random';
import { encodeQuery, mutateQuery, plainOpt } from '../xdp/dns';
import { mutateBytes, mutateText, randomText } from './mutate';

const REPO = resolve(__dirname, '../../..');
const read = (p: string) => readFileSync(join(REPO, p), 'utf8');

export interface ParserTarget {
  name: string;
  check(rng: Rng): string | null;
}

function describe(e: unknown): string {
  const err = e as Error;
  return `${err?.constructor?.name ?? typeof e}: ${String(err?.message ?? e).slice(0, 300)}`;
}

function lineCount(text: string): number {
  return text.split('\n').length;
}

// ---- zone files --------------------------------------------------------------------------------

const ZONE_FILE = 'fuzz.zone';
const INCLUDE_FILE = 'hosts.inc';
const zoneCorpus = readdirSync(join(REPO, 'zones-example'))
  .filter((f) => f.endsWith('.zone'))
  .map((f) => read(join('zones-example', f)));
const includeText = read('zones-example/includes/hosts.inc');
const ZONE_ALPHABET = ' \t\n\n()";\\$@.*0123456789aZz-_#/:+=';
const ZONE_WORDS = [
  '$ORIGIN', '$TTL', '$INCLUDE', '$GENERATE', 'IN', 'CH', 'CLASS1', 'A', 'AAAA', 'NS', 'SOA', 'MX', 'TXT', 'CNAME', 'DNAME', 'SRV',
  'CAA', 'NAPTR', 'DS', 'RRSIG', 'TYPE65534', '\\#', '4', 'c0000201', '0', '@', '*', '1-100', '1-65536/3', '$', '${1,3,x}', '${-1}', '300',
  '1w2d3h', '2147483648', '4294967296', '192.0.2.1', '2001:db8::1', '"text"', '"unterminated', '(', ')', ';', 'ns1', 'example.test.',
  '\\046', '\\999', '\\', 'a..b', '.', 'includes/hosts.inc', 'missing.inc', 'host-$', 'x'.repeat(64), 'y'.repeat(300),
];

function zoneTarget(): ParserTarget {
  const resolver = (p: string) => {
    if (basename(p) === INCLUDE_FILE) return { file: INCLUDE_FILE, text: includeText };
    throw new Error(`ENOENT: no such file ${p}`);
  };
  return {
    name: 'zone',
    check(rng) {
      const text = rng.chance(0.85) ? mutateText(rng.pick(zoneCorpus), rng, ZONE_ALPHABET, ZONE_WORDS) : randomText(rng, ZONE_ALPHABET, ZONE_WORDS);
      let zone: Zone;
      try {
        zone = parseZoneText(text, 'example.test', ZONE_FILE, resolver);
      } catch (e) {
        if (!(e instanceof ZoneParseError)) return `threw ${describe(e)}`;
        const lines = e.file === ZONE_FILE ? lineCount(text) : lineCount(includeText);
        // Line 0 is for what concerns the whole zone (no SOA at the apex, say).
        if (!e.message.startsWith(`${e.file}:${e.line}: `) || e.line < 0 || e.line > lines) return `error does not say where: ${e.message.slice(0, 200)} (file has ${lines} lines)`;
        return null;
      }
      return buildsFrom(zone, rng);
    },
  };
}

const BUILD_BITS: QueryBits[] = [
  { rd: false, edns: true, do: true },
  { rd: true, edns: true, do: true, udpSize: 512 },
  { rd: false, edns: false, do: false },
];

/**
 * What the builder promises for any zone that parsed: for names it holds and names it does not,
 * with and without DO, an answer that decodes or a reason, never a throw.
 */
function buildsFrom(zone: Zone, rng: Rng): string | null {
  const owners = [...zone.names()];
  const names = [zone.origin, `nonexistent.${zone.origin}`, `a.b.${rng.pick(owners)}`, ...Array.from({ length: 3 }, () => rng.pick(owners))];
  for (const name of names) {
    for (const type of ['A', 'TXT', 'DS', 'NS', 'MX']) {
      const bits = rng.pick(BUILD_BITS);
      try {
        const r = buildResponse(zone, { name, type }, bits, { minimalResponses: 'no-auth-recursive', ednsUdpSize: 1232 });
        if (r.cacheable) decodeMessage(r.wire);
      } catch (e) {
        return `builder on ${name} ${type} (DO=${+bits.do}) threw ${describe(e)}`;
      }
    }
  }
  return null;
}

// ---- named.conf --------------------------------------------------------------------------------

const CONF_FILE = '/etc/bind/named.conf';
const confCorpus = ['named.conf', 'named-views.conf'].map((f) => read(join('zones-example', f)));
const includedConf = read('zones-example/zones.conf');
const CONF_ALPHABET = ' \t\n{};"#/*!.:0123456789az-_';
const CONF_WORDS = [
  'options', 'zone', 'view', 'include', '"zones.conf"', '"missing.conf"', 'type', 'primary', 'master', 'secondary', 'file', 'directory',
  'listen-on', 'listen-on-v6', 'port', '53', '99999', 'any', 'none', '!', '10.0.0.0/8', '::1', 'match-clients', 'allow-query', 'key',
  'rate-limit', 'responses-per-second', 'minimal-responses', 'no-auth-recursive', 'max-udp-size', 'edns-udp-size', 'dnssec-policy',
  'inline-signing', 'allow-update', 'update-policy', 'local', 'default',
  'in', 'IN', 'CH', '{', '}', ';', '/*', '*/', '//', '"', '"example.test"', 'yes', 'no',
];

function namedConfTarget(): ParserTarget {
  const load = (abs: string) => {
    if (basename(abs) === 'zones.conf') return includedConf;
    throw new Error(`ENOENT: no such file ${abs}`);
  };
  return {
    name: 'named-conf',
    check(rng) {
      const text = rng.chance(0.85) ? mutateText(rng.pick(confCorpus), rng, CONF_ALPHABET, CONF_WORDS) : randomText(rng, CONF_ALPHABET, CONF_WORDS);
      try {
        interpretNamedConf(text, CONF_FILE, load);
        return null;
      } catch (e) {
        if (!(e instanceof NamedConfError)) return `threw ${describe(e)}`;
        const lines = e.file === CONF_FILE ? lineCount(text) : lineCount(includedConf);
        if (!e.message.startsWith(`${e.file}:${e.line}: `) || e.line < 1 || e.line > lines) return `error does not say where: ${e.message.slice(0, 200)} (file has ${lines} lines)`;
        return null;
      }
    },
  };
}

// ---- query log -----------------------------------------------------------------------------------

const LOG_FILE = 'fuzz.log';
const LINE_LIMIT = 64 * 1024;
const logLines = readdirSync(join(REPO, 'test/hotset/fixtures'))
  .filter((f) => f.endsWith('.log'))
  .flatMap((f) => read(join('test/hotset/fixtures', f)).split('\n').filter((l) => l.length > 0).slice(0, 50));
const LOG_ALPHABET = ' #:@()[]+-ETDCSVK.0123456789abcdefxyz/\r';
const LOG_WORDS = ['client', ': query: ', 'IN', 'A', 'AAAA', 'TYPE65535', 'CLASS9', '+E(0)DC', '-E(256)', '+E(', '@0x7f', '#53', '#99999', '(10.0.0.1)', '[ECS 1.2.3.0/24/0]', ': view ', 'queries:', 'info:'];

function events(text: string, chunks: number[]): { events: string[]; lines: number; where: string[] } {
  const out: string[] = [];
  const d = new QueryLogDecoder(LOG_FILE, (e) => out.push(JSON.stringify(e)));
  const bytes = Buffer.from(text, 'utf8');
  let at = 0;
  for (const n of chunks) {
    d.push(bytes.subarray(at, at + n));
    at += n;
  }
  d.push(bytes.subarray(at));
  d.endOfFile();
  return { events: out, lines: d.stats.lines, where: d.stats.unreadable.samples.map((s) => s.where) };
}

function queryLogTarget(): ParserTarget {
  return {
    name: 'querylog',
    check(rng) {
      const lines = Array.from({ length: rng.range(1, 30) }, () => (rng.chance(0.8) ? mutateText(rng.pick(logLines), rng, LOG_ALPHABET, LOG_WORDS) : randomText(rng, LOG_ALPHABET, LOG_WORDS)));
      const text = lines.join('\n');
      for (const line of text.split('\n')) {
        let parsed;
        try {
          parsed = parseQueryLine(line);
        } catch (e) {
          return `parseQueryLine threw ${describe(e)} on ${JSON.stringify(line.slice(0, 200))}`;
        }
        if (isUnreadable(parsed)) {
          if (!parsed.reason) return `unreadable without a reason: ${JSON.stringify(line.slice(0, 200))}`;
        } else if (!parsed.name || parsed.name.includes(' ') || !(parsed.qtype >= 0 && parsed.qtype <= 0xffff) || !(parsed.qclass >= 0 && parsed.qclass <= 0xffff) || !(parsed.clientPort >= 0 && parsed.clientPort <= 0xffff)) {
          return `implausible event ${JSON.stringify(parsed)} from ${JSON.stringify(line.slice(0, 200))}`;
        }
      }
      let whole, chunked;
      try {
        whole = events(text, []);
        const sizes = Array.from({ length: rng.range(1, 10) }, () => rng.range(1, 64));
        chunked = events(text, sizes);
      } catch (e) {
        return `QueryLogDecoder threw ${describe(e)}`;
      }
      // The splitter's 64 KiB line limit applies only to a line that spans reads (one inside a
      // single read is already in memory), so only shorter lines must not depend on chunking.
      const longest = Math.max(...text.split('\n').map((l) => Buffer.byteLength(l)));
      if (longest < LINE_LIMIT && JSON.stringify(whole) !== JSON.stringify(chunked)) return 'events or line numbers differ with how the file was chunked';
      const bad = whole.where.find((w) => {
        const m = /^fuzz\.log:(\d+)$/.exec(w);
        return !m || Number(m[1]) < 1 || Number(m[1]) > whole.lines;
      });
      return bad ? `unreadable line reported at ${bad} (file has ${whole.lines} lines)` : null;
    },
  };
}

// ---- dnstap ----------------------------------------------------------------------------------------

const dnstapType = protobuf.loadSync(join(REPO, 'sidecar/dnstap/dnstap.proto')).lookupType('dnstap.Dnstap');
const MAX_DATA_FRAME = 4096;

function validQueryMessage(rng: Rng): Buffer {
  return encodeQuery({
    id: rng.int(0x10000),
    flags: rng.pick([0, 0x0100, 0x0110]),
    counts: [1, 0, 0, 1],
    name: Buffer.from([3, 0x77, 0x77, 0x77, 7, ...Buffer.from('example'), 4, ...Buffer.from('test'), 0]),
    qtype: rng.pick([1, 28, 15]),
    qclass: 1,
    opt: plainOpt(1232, rng.chance(0.5)),
    trailing: Buffer.alloc(0),
  });
}

function dnstapPayload(rng: Rng): Buffer {
  const msg = dnstapType.create({
    type: 1,
    message: {
      type: rng.pick([1, 2, 5, 6]),
      socketFamily: rng.pick([1, 2]),
      socketProtocol: rng.pick([1, 2]),
      queryAddress: rng.bytes(rng.pick([4, 16])),
      queryPort: rng.int(0x10000),
      queryMessage: validQueryMessage(rng),
    },
  });
  return Buffer.from(dnstapType.encode(msg).finish());
}

function decodeFrames(stream: Buffer, chunks: number[]): { frames: string[]; error?: string; pending: number } {
  const d = new FrameStreamDecoder(MAX_DATA_FRAME);
  const frames: string[] = [];
  const onFrame = (f: Frame) => frames.push(f.kind === 'data' ? `data ${f.payload.toString('hex')}` : `control ${f.type} ${f.contentTypes.join(',')}`);
  let at = 0;
  let pending = 0;
  try {
    for (const n of [...chunks, stream.length]) {
      d.push(stream.subarray(at, at + n), onFrame);
      pending = Math.max(pending, d.pendingBytes);
      at += n;
    }
  } catch (e) {
    if (!(e instanceof FrameStreamError)) throw e;
    return { frames, error: e.message, pending };
  }
  return { frames, pending };
}

function frameStreamTarget(): ParserTarget {
  return {
    name: 'dnstap-frames',
    check(rng) {
      const parts = [encodeControlFrame(ControlType.START, [DNSTAP_CONTENT_TYPE])];
      for (let n = rng.range(0, 6); n > 0; n--) parts.push(encodeDataFrame(dnstapPayload(rng)));
      parts.push(encodeControlFrame(ControlType.STOP));
      const valid = Buffer.concat(parts);
      const stream = rng.chance(0.9) ? mutateBytes(valid, rng) : rng.bytes(rng.int(200));
      let whole, chunked;
      try {
        whole = decodeFrames(stream, []);
        chunked = decodeFrames(stream, Array.from({ length: rng.range(1, 12) }, () => rng.range(1, 40)));
      } catch (e) {
        return `FrameStreamDecoder threw ${describe(e)}`;
      }
      if (JSON.stringify(whole) !== JSON.stringify({ ...chunked, pending: whole.pending })) return `frames differ with chunking: ${whole.error ?? ''} / ${chunked.error ?? ''}`;
      for (const r of [whole, chunked]) {
        if (r.error) {
          const m = /at byte (\d+) of the stream\)$/.exec(r.error);
          if (!m || Number(m[1]) > stream.length) return `error does not say where: ${r.error}`;
        }
        if (r.pending > MAX_DATA_FRAME + 8) return `decoder holds ${r.pending} bytes, beyond one frame`;
      }
      // Every data payload goes to the dnstap decoder, which must count bad ones, not throw.
      const decoder = new DnstapEventDecoder('fuzz.fstrm', () => undefined);
      try {
        for (const f of whole.frames) if (f.startsWith('data ')) decoder.payload(Buffer.from(f.slice(5), 'hex'));
        decoder.payload(mutateBytes(dnstapPayload(rng), rng));
      } catch (e) {
        return `DnstapEventDecoder.payload threw ${describe(e)}`;
      }
      const where = decoder.stats.unreadable.samples.find((s) => !/^fuzz\.fstrm:frame \d+$/.test(s.where));
      return where ? `unreadable dnstap frame reported at ${where.where}` : null;
    },
  };
}

function wireQuestionTarget(): ParserTarget {
  return {
    name: 'dns-wire',
    check(rng) {
      let msg: Buffer;
      if (rng.chance(0.1)) msg = rng.bytes(rng.int(80));
      else {
        const q = { id: 1, flags: 0, counts: [1, 0, 0, 0] as [number, number, number, number], name: Buffer.from([1, 0x61, 4, ...Buffer.from('test'), 0]), qtype: 1, qclass: 1, opt: undefined, trailing: Buffer.alloc(0) };
        for (let n = rng.range(0, 3); n > 0; n--) mutateQuery(q, rng);
        msg = encodeQuery(q);
        if (rng.chance(0.5)) msg = mutateBytes(msg, rng);
      }
      try {
        const q = readWireQuestion(msg);
        if (typeof q.name !== 'string' || q.name.length === 0 || !(q.qtype >= 0 && q.qtype <= 0xffff)) return `implausible question ${JSON.stringify(q)}`;
        return null;
      } catch (e) {
        if (!(e instanceof WireError)) return `threw ${describe(e)} for ${msg.toString('hex')}`;
        // The offset may lie past the end: where a label or RDATA length said the data would be.
        if (!(Number.isInteger(e.offset) && e.offset >= 0) || !e.message.endsWith(`at byte ${e.offset}`)) return `error does not say where: ${e.message}`;
        return null;
      }
    },
  };
}

// ---- zone transfers --------------------------------------------------------------------------------

const AXFR_ZONE = 'example.test';
const axfrRecords: packet.Answer[] = [
  { type: 'NS', name: AXFR_ZONE, data: `ns1.${AXFR_ZONE}` },
  { type: 'A', name: `ns1.${AXFR_ZONE}`, data: '192.0.2.1' },
  { type: 'AAAA', name: `ns1.${AXFR_ZONE}`, data: '2001:db8::1' },
  { type: 'MX', name: AXFR_ZONE, data: { preference: 10, exchange: `mail.${AXFR_ZONE}` } },
  { type: 'A', name: `mail.${AXFR_ZONE}`, data: '192.0.2.25' },
  { type: 'CNAME', name: `www.${AXFR_ZONE}`, data: `mail.${AXFR_ZONE}` },
  { type: 'TXT', name: `*.wild.${AXFR_ZONE}`, data: 'wild' },
  { type: 'DNAME', name: `old.${AXFR_ZONE}`, data: 'example.org' },
  { type: 'NS', name: `sub.${AXFR_ZONE}`, data: `ns.sub.${AXFR_ZONE}` },
  { type: 'A', name: `ns.sub.${AXFR_ZONE}`, data: '192.0.2.53' },
  { type: 'DS', name: `sub.${AXFR_ZONE}`, data: { keyTag: 1, algorithm: 13, digestType: 2, digest: Buffer.alloc(32, 1) } },
  { type: 'NSEC', name: AXFR_ZONE, data: { nextDomain: `mail.${AXFR_ZONE}`, rrtypes: ['NS', 'SOA', 'MX', 'RRSIG', 'NSEC'] } },
  { type: 'RRSIG', name: `mail.${AXFR_ZONE}`, data: { typeCovered: 'A', algorithm: 13, labels: 3, originalTTL: 300, expiration: 2000000000, inception: 1700000000, keyTag: 1, signersName: AXFR_ZONE, signature: Buffer.alloc(64, 2) } },
].map((r) => ({ ...r, ttl: 300, class: 'IN' }) as packet.Answer);
const axfrSoa = { type: 'SOA', name: AXFR_ZONE, ttl: 300, class: 'IN', data: { mname: `ns1.${AXFR_ZONE}`, rname: `hostmaster.${AXFR_ZONE}`, serial: 7, refresh: 3600, retry: 600, expire: 86400, minimum: 60 } } as packet.Answer;
const axfrUnsigned = parseZoneText(`$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.1\n`, AXFR_ZONE, 'unsigned.zone', () => {
  throw new Error('no includes');
});

/** A transfer's messages: the SOA, some of the records above (in any order, in 1-3 messages),
 * the SOA again; then, mostly, some bytes changed. */
function axfrStream(rng: Rng): Buffer[] {
  const records = [axfrSoa, ...axfrRecords.filter(() => rng.chance(0.7)), ...(rng.chance(0.9) ? [axfrSoa] : [])];
  const parts = rng.range(1, 3);
  const per = Math.ceil(records.length / parts);
  const messages = Array.from({ length: parts }, (_, i) => packet.encode({ type: 'response', id: 1, flags: packet.AUTHORITATIVE_ANSWER, questions: [{ type: 'AXFR', name: AXFR_ZONE }], answers: records.slice(i * per, (i + 1) * per) }));
  return messages.map((m) => (rng.chance(0.7) ? mutateBytes(m, rng) : m));
}

function transferTarget(): ParserTarget {
  return {
    name: 'axfr',
    check(rng) {
      const messages = axfrStream(rng);
      let zone: Zone;
      try {
        zone = zoneFromTransfer(AXFR_ZONE, messages, 'axfr');
      } catch (e) {
        if (e instanceof TransferError) return e.message.startsWith(`zone transfer of ${AXFR_ZONE}: `) ? null : `error does not name the zone: ${e.message}`;
        if (e instanceof DecodeError) return /at byte \d+: /.test(e.message) ? null : `error does not say where: ${e.message}`;
        if (e instanceof ZoneParseError) return /^axfr:\d+: /.test(e.message) ? null : `error does not say which record: ${e.message}`;
        return `threw ${describe(e)}`;
      }
      try {
        signedFormDiffers(axfrUnsigned, zone);
      } catch (e) {
        return `signedFormDiffers threw ${describe(e)}`;
      }
      return buildsFrom(zone, rng);
    },
  };
}

export const PARSER_TARGETS: readonly ParserTarget[] = [zoneTarget(), namedConfTarget(), queryLogTarget(), frameStreamTarget(), wireQuestionTarget(), transferTarget()];

export function parserTarget(name: string): ParserTarget {
  const t = PARSER_TARGETS.find((x) => x.name === name);
  if (!t) throw new Error(`no parser target ${name} (${PARSER_TARGETS.map((x) => x.name).join(', ')})`);
  return t;
}
