/**
 * A strict decoder for DNS responses, used to compare a built response with BIND's. Names are
 * decompressed everywhere, including inside RDATA, so two messages compare equal however they
 * were compressed. Malformed input throws a DecodeError naming the offset.
 */
import { nameFromWire } from '../zone/name';
import { T } from '../zone/types';
import { NAME_LAYOUT } from './wire';

export class DecodeError extends Error {
  constructor(
    readonly offset: number,
    reason: string,
  ) {
    super(`malformed DNS message at byte ${offset}: ${reason}`);
    this.name = 'DecodeError';
  }
}

export interface DecodedRR {
  name: string;
  type: number;
  class: number;
  ttl: number;
  /** Uncompressed RDATA. */
  rdata: Buffer;
}

export interface DecodedOpt {
  udpSize: number;
  extendedRcode: number;
  version: number;
  flags: number;
  options: Buffer;
}

export interface DecodedMessage {
  id: number;
  flags: number;
  question: { name: string; type: number; class: number }[];
  answer: DecodedRR[];
  authority: DecodedRR[];
  /** Without the OPT record, which is in `opt`. */
  additional: DecodedRR[];
  opt?: DecodedOpt;
}

/** Reads a possibly compressed name; pointers must go backwards, as RFC 1035 requires. */
export function readName(msg: Buffer, offset: number): { name: string; end: number } {
  const { wire, end } = readNameWire(msg, offset);
  return { name: nameFromWire(wire, 0).name, end };
}

/** readName, giving the name in uncompressed wire form. */
export function readNameWire(msg: Buffer, offset: number): { wire: Buffer; end: number } {
  const labels: Buffer[] = [];
  let at = offset;
  let end = -1;
  let wireLength = 1;
  for (let hops = 0; ; hops++) {
    if (at >= msg.length) throw new DecodeError(at, 'name runs past the end');
    const len = msg[at];
    if (len === 0) {
      if (end < 0) end = at + 1;
      break;
    }
    if ((len & 0xc0) === 0xc0) {
      if (at + 1 >= msg.length) throw new DecodeError(at, 'truncated compression pointer');
      const target = ((len & 0x3f) << 8) | msg[at + 1];
      if (target >= at || hops > 127) throw new DecodeError(at, 'compression pointer does not point backwards');
      if (end < 0) end = at + 2;
      at = target;
      continue;
    }
    if (len > 63) throw new DecodeError(at, `bad label length ${len}`);
    if (at + 1 + len > msg.length) throw new DecodeError(at, 'label runs past the end');
    wireLength += len + 1;
    if (wireLength > 255) throw new DecodeError(offset, 'name longer than 255 bytes');
    labels.push(msg.subarray(at, at + 1 + len));
    at += 1 + len;
  }
  return { wire: Buffer.concat([...labels, Buffer.from([0])]), end };
}

/** RDATA of `type` at `start` with any compressed names in it expanded. */
export function uncompressedRdata(msg: Buffer, type: number, start: number, length: number): Buffer {
  const layout = NAME_LAYOUT.get(type);
  const stop = start + length;
  if (!layout) return Buffer.from(msg.subarray(start, stop));
  const parts: Buffer[] = [];
  let at = start;
  for (const step of layout) {
    if (step === 'name') {
      const { wire, end } = readNameWire(msg, at);
      parts.push(wire);
      at = end;
    } else if (step === 'strings3') {
      const from = at;
      for (let i = 0; i < 3; i++) at += msg[at] + 1;
      parts.push(msg.subarray(from, at));
    } else {
      parts.push(msg.subarray(at, at + step));
      at += step;
    }
    if (at > stop) throw new DecodeError(start, `RDATA of type ${type} is shorter than its fields`);
  }
  parts.push(msg.subarray(at, stop));
  return Buffer.concat(parts);
}

export function decodeMessage(msg: Buffer): DecodedMessage {
  if (msg.length < 12) throw new DecodeError(0, 'shorter than a DNS header');
  const counts = [msg.readUInt16BE(4), msg.readUInt16BE(6), msg.readUInt16BE(8), msg.readUInt16BE(10)];
  const out: DecodedMessage = { id: msg.readUInt16BE(0), flags: msg.readUInt16BE(2), question: [], answer: [], authority: [], additional: [] };
  let at = 12;
  for (let i = 0; i < counts[0]; i++) {
    const { name, end } = readName(msg, at);
    if (end + 4 > msg.length) throw new DecodeError(end, 'question runs past the end');
    out.question.push({ name, type: msg.readUInt16BE(end), class: msg.readUInt16BE(end + 2) });
    at = end + 4;
  }
  const sections = [out.answer, out.authority, out.additional];
  for (let s = 0; s < 3; s++) {
    for (let i = 0; i < counts[s + 1]; i++) {
      const { name, end } = readName(msg, at);
      if (end + 10 > msg.length) throw new DecodeError(end, 'RR header runs past the end');
      const type = msg.readUInt16BE(end);
      const cls = msg.readUInt16BE(end + 2);
      const ttl = msg.readUInt32BE(end + 4);
      const rdlength = msg.readUInt16BE(end + 8);
      const start = end + 10;
      if (start + rdlength > msg.length) throw new DecodeError(start, 'RDATA runs past the end');
      if (type === T.OPT && s === 2) {
        if (out.opt) throw new DecodeError(at, 'more than one OPT record');
        out.opt = { udpSize: cls, extendedRcode: ttl >>> 24, version: (ttl >>> 16) & 0xff, flags: ttl & 0xffff, options: Buffer.from(msg.subarray(start, start + rdlength)) };
      } else {
        sections[s].push({ name, type, class: cls, ttl, rdata: uncompressedRdata(msg, type, start, rdlength) });
      }
      at = start + rdlength;
    }
  }
  if (at !== msg.length) throw new DecodeError(at, `${msg.length - at} bytes after the last record`);
  return out;
}
