/**
 * The DNS message: only what can be answered exactly like BIND is accepted (issue 2): a plain
 * QUERY with one question whose name has no compression pointer, and at most one record, a
 * version-0 OPT at the root with no options, or (cookies on, issue 8) exactly one COOKIE
 * option. The result is the lookup key, the client's UDP payload limit and its cookie.
 */
import { lowerAscii } from './keys';
import type { KeyBits, ModelSettings, PassReason } from './types';

const HEADER = 12;
const QR = 0x8000;
const OPCODE = 0x7800;
const TC = 0x0200;
const RD = 0x0100;
const MAX_LABEL = 63;
const MAX_NAME = 255;
const POINTER = 0xc0;
const TYPE_OPT = 41;
const OPT_FIXED = 11; // root owner, type, class, TTL, RDLENGTH
const DO_BIT = 0x80; // high byte of the OPT flags
const PLAIN_UDP_LIMIT = 512;
const EDNS_COOKIE = 10;
const OPTION_HEADER = 4;
const CLIENT_COOKIE = 8;
const SERVER_COOKIE = 16;
const DEFAULT_MAX_UDP = 1232; // BIND 9.18's max-udp-size

export interface Question {
  /** The question exactly as received (name, type, class): the reply echoes it. */
  wire: Buffer;
  /** Lower-cased wire name. */
  name: Buffer;
  qtype: number;
  qclass: number;
  bits: KeyBits;
  /** Largest reply the client accepts over UDP. */
  limit: number;
  id: number;
  flags: number;
  /** The query's COOKIE option (RFC 7873): the client cookie, and the server cookie if sent. */
  cookie?: QueryCookie;
}

export interface QueryCookie {
  client: Buffer;
  server?: Buffer;
}

export type QueryVerdict = { pass: PassReason } | { question: Question };

/** `frameRest`: bytes of the frame from the message's start to the frame's end (Ethernet
 * padding and bytes past the UDP length included): the program bounds some reads by the frame,
 * not the message. */
export function parseQuery(msg: Buffer, v6: boolean, settings: ModelSettings, frameRest = msg.length): QueryVerdict {
  if (msg.length < HEADER) return { pass: 'PASS_MALFORMED' };
  const flags = msg.readUInt16BE(2);
  if (flags & (QR | OPCODE | TC)) return { pass: 'PASS_UNSUPPORTED' };
  const [qd, an, ns, ar] = [4, 6, 8, 10].map((o) => msg.readUInt16BE(o));
  if (qd !== 1 || an !== 0 || ns !== 0 || ar > 1) return { pass: 'PASS_UNSUPPORTED' };

  const name = readName(msg);
  if ('pass' in name) return name;
  const questionEnd = name.end + 4;
  if (questionEnd > msg.length) return { pass: 'PASS_MALFORMED' };
  const bits: KeyBits = { rd: (flags & RD) !== 0, edns: false, dnssecOk: false, v6 };
  let limit = PLAIN_UDP_LIMIT;
  let end = questionEnd;
  let cookie: QueryCookie | undefined;
  if (ar === 1) {
    const opt = readOpt(msg, questionEnd, settings, frameRest);
    if ('pass' in opt) return opt;
    bits.edns = true;
    bits.dnssecOk = opt.dnssecOk;
    const maxUdp = settings.maxUdpSize || DEFAULT_MAX_UDP;
    limit = Math.max(PLAIN_UDP_LIMIT, Math.min(opt.udpSize, maxUdp));
    end = opt.end;
    cookie = opt.cookie;
  }
  if (end !== msg.length) return { pass: 'PASS_MALFORMED' }; // trailing bytes
  const wireName = msg.subarray(HEADER, name.end);
  return {
    question: {
      wire: Buffer.from(msg.subarray(HEADER, questionEnd)),
      name: lowerAscii(wireName),
      qtype: msg.readUInt16BE(name.end),
      qclass: msg.readUInt16BE(name.end + 2),
      bits,
      limit,
      id: msg.readUInt16BE(0),
      flags,
      ...(cookie ? { cookie } : {}),
    },
  };
}

/** The question name at offset 12: labels of 1..63 bytes ending in the root, <= 255 bytes. */
function readName(msg: Buffer): { end: number } | { pass: PassReason } {
  let at = HEADER;
  for (;;) {
    if (at >= msg.length) return { pass: 'PASS_MALFORMED' };
    const len = msg[at];
    if (len === 0) return { end: at + 1 };
    if ((len & POINTER) === POINTER) return { pass: 'PASS_UNSUPPORTED' };
    if (len > MAX_LABEL) return { pass: 'PASS_MALFORMED' }; // reserved label types 01 and 10
    at += 1 + len;
    // The root label still has to fit.
    if (at - HEADER + 1 > MAX_NAME) return { pass: 'PASS_MALFORMED' };
  }
}

interface Opt {
  udpSize: number;
  dnssecOk: boolean;
  end: number;
  cookie?: QueryCookie;
}

/** RFC 6891 6.1.2: owner root, TYPE 41, CLASS = UDP size, TTL = ext. rcode, version, flags. */
function readOpt(msg: Buffer, at: number, settings: ModelSettings, frameRest: number): Opt | { pass: PassReason } {
  if (at + OPT_FIXED > msg.length) return { pass: 'PASS_MALFORMED' };
  if (msg[at] !== 0 || msg.readUInt16BE(at + 1) !== TYPE_OPT) return { pass: 'PASS_UNSUPPORTED' };
  if (msg[at + 6] !== 0) return { pass: 'PASS_EDNS_VERSION' }; // BIND answers BADVERS
  if (msg[at + 5] !== 0) return { pass: 'PASS_UNSUPPORTED' }; // extended rcode bits in a query
  const rdLength = msg.readUInt16BE(at + 9);
  const end = at + OPT_FIXED + rdLength;
  if (end > msg.length) return { pass: 'PASS_MALFORMED' };
  let cookie: QueryCookie | undefined;
  if (rdLength > 0) {
    const c = readCookie(msg, at + OPT_FIXED, rdLength, settings, frameRest);
    if ('pass' in c) return c;
    cookie = c;
  }
  return { udpSize: msg.readUInt16BE(at + 3), dnssecOk: (msg[at + 7] & DO_BIT) !== 0, end, ...(cookie ? { cookie } : {}) };
}

/**
 * OPT RDATA of `rdLength` bytes at `at`: answerable only with cookies on and when it is exactly
 * one COOKIE option of BIND's two forms (8-byte client cookie, or that and a 16-byte server
 * cookie). Other lengths within the option are cookies BIND will not recognise (BAD_COOKIE);
 * other or more options go to BIND (EDNS_OPTIONS); RDATA shorter than an option header is
 * malformed (BIND: FORMERR).
 */
function readCookie(msg: Buffer, at: number, rdLength: number, settings: ModelSettings, frameRest: number): QueryCookie | { pass: PassReason } {
  if (!settings.cookie) return { pass: 'PASS_EDNS_OPTIONS' };
  if (rdLength < OPTION_HEADER || at + OPTION_HEADER > frameRest) return { pass: 'PASS_MALFORMED' };
  const code = msg.readUInt16BE(at);
  const len = msg.readUInt16BE(at + 2);
  if (code !== EDNS_COOKIE || len + OPTION_HEADER !== rdLength) return { pass: 'PASS_EDNS_OPTIONS' };
  const data = msg.subarray(at + OPTION_HEADER, at + OPTION_HEADER + len);
  if (len === CLIENT_COOKIE) return { client: Buffer.from(data) };
  if (len === CLIENT_COOKIE + SERVER_COOKIE) return { client: Buffer.from(data.subarray(0, CLIENT_COOKIE)), server: Buffer.from(data.subarray(CLIENT_COOKIE)) };
  return { pass: 'PASS_BAD_COOKIE' };
}
