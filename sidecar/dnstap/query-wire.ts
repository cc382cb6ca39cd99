/**
 * Reads the question key out of a DNS query in wire format (RFC 1035 4.1, RFC 6891 for the
 * OPT record): name, type, class, RD, and whether an OPT record with DO was present.
 * Pure and allocation-light: it runs once per dnstap frame.
 */
import { KEY_DO, KEY_EDNS, KEY_RD } from '../ranking/question-key';

export interface WireQuestion {
  readonly name: string;
  readonly qtype: number;
  readonly qclass: number;
  readonly flags: number;
  readonly ednsVersion: number;
  readonly cd: boolean;
  readonly opcode: number;
}

export class WireError extends Error {
  constructor(message: string, readonly offset: number) {
    super(`${message} at byte ${offset}`);
    this.name = 'WireError';
  }
}

const TYPE_OPT = 41;
const HEADER_BYTES = 12;

/** Throws WireError for anything that is not a one-question message it can read. */
export function readWireQuestion(msg: Uint8Array): WireQuestion {
  if (msg.length < HEADER_BYTES) throw new WireError(`message of ${msg.length} bytes is shorter than a header`, 0);
  const flagsHi = msg[2];
  const flagsLo = msg[3];
  if ((flagsHi & 0x80) !== 0) throw new WireError('QR is set: a response, not a query', 2);
  const qdcount = u16(msg, 4);
  if (qdcount !== 1) throw new WireError(`QDCOUNT is ${qdcount}, not 1`, 4);
  const skipBeforeAdditional = u16(msg, 6) + u16(msg, 8);
  const arcount = u16(msg, 10);

  const nameEnd = nameEndOffset(msg, HEADER_BYTES, false);
  if (nameEnd + 4 > msg.length) throw new WireError('question ends early', nameEnd);
  const name = nameToText(msg, HEADER_BYTES);
  const qtype = u16(msg, nameEnd);
  const qclass = u16(msg, nameEnd + 2);

  let flags = (flagsHi & 0x01) !== 0 ? KEY_RD : 0;
  let ednsVersion = -1;
  let at = nameEnd + 4;
  for (let i = 0; i < skipBeforeAdditional + arcount; i++) {
    at = nameEndOffset(msg, at, true);
    if (at + 10 > msg.length) throw new WireError('resource record ends early', at);
    const type = u16(msg, at);
    const rdlength = u16(msg, at + 8);
    if (type === TYPE_OPT && i >= skipBeforeAdditional) {
      flags |= KEY_EDNS;
      ednsVersion = msg[at + 5];
      if ((msg[at + 6] & 0x80) !== 0) flags |= KEY_DO;
    }
    at += 10 + rdlength;
    if (at > msg.length) throw new WireError('RDATA overruns the message', at);
  }
  return { name, qtype, qclass, flags, ednsVersion, cd: (flagsLo & 0x10) !== 0, opcode: (flagsHi >> 3) & 0x0f };
}

function u16(msg: Uint8Array, at: number): number {
  return (msg[at] << 8) | msg[at + 1];
}

/** Offset just past the name at `at`. Compression pointers end a name in two bytes; the
 * question name of a query has none (there is nothing earlier to point to). */
function nameEndOffset(msg: Uint8Array, at: number, allowPointer: boolean): number {
  let total = 0;
  for (;;) {
    if (at >= msg.length) throw new WireError('name runs past the end', at);
    const len = msg[at];
    if (len === 0) return at + 1;
    if ((len & 0xc0) === 0xc0) {
      if (!allowPointer) throw new WireError('compression pointer in the question name', at);
      if (at + 2 > msg.length) throw new WireError('truncated compression pointer', at);
      return at + 2;
    }
    if ((len & 0xc0) !== 0) throw new WireError(`unsupported label type 0x${len.toString(16)}`, at);
    total += len + 1;
    if (total > 255) throw new WireError('name longer than 255 bytes', at);
    at += len + 1;
  }
}

/**
 * Presentation format as BIND's query log prints it, so a name reads the same from dnstap as
 * from the text log: lower-cased A-Z, `"().;\@$` escaped with a backslash, bytes outside
 * 0x21..0x7e as \DDD, no trailing dot, the root as ".".
 */
export function nameToText(msg: Uint8Array, at: number): string {
  let out = '';
  for (;;) {
    const len = msg[at];
    if (len === 0) break;
    if (out.length > 0) out += '.';
    for (let i = at + 1; i <= at + len; i++) {
      const b = msg[i];
      if (b >= 0x41 && b <= 0x5a) out += String.fromCharCode(b + 32);
      else if (b === 0x22 || b === 0x28 || b === 0x29 || b === 0x2e || b === 0x3b || b === 0x5c || b === 0x40 || b === 0x24) {
        out += '\\' + String.fromCharCode(b);
      } else if (b > 0x20 && b < 0x7f) out += String.fromCharCode(b);
      else out += '\\' + (b < 10 ? '00' : b < 100 ? '0' : '') + b;
    }
    at += len + 1;
  }
  return out.length === 0 ? '.' : out;
}
