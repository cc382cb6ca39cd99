/**
 * Frame Streams (the transport of dnstap, github.com/farsightsec/fstrm), as pure encode and
 * decode functions over bytes.
 *
 * A stream is a sequence of frames, each starting with a 32-bit big-endian length:
 * - length > 0: a data frame of that many bytes;
 * - length = 0: an escape, followed by a 32-bit control frame length and the control frame:
 *   a 32-bit control type, then fields (32-bit field type, 32-bit length, bytes). The only
 *   field type is CONTENT_TYPE.
 * A file holds START, data frames, STOP. Over a socket, the writer says READY (with the
 * content types it can send), the reader answers ACCEPT (with the one it takes), then the
 * writer sends START, data and STOP, and the reader ends with FINISH.
 */

export const enum ControlType {
  ACCEPT = 0x01,
  START = 0x02,
  STOP = 0x03,
  READY = 0x04,
  FINISH = 0x05,
}

export const CONTROL_FIELD_CONTENT_TYPE = 0x01;
export const DNSTAP_CONTENT_TYPE = 'protobuf:dnstap.Dnstap';

/** fstrm refuses control frames above 512 bytes; so do we. */
export const MAX_CONTROL_FRAME_BYTES = 512;

export type Frame =
  | { readonly kind: 'data'; readonly payload: Buffer }
  | { readonly kind: 'control'; readonly type: number; readonly contentTypes: readonly string[] };

/** The stream cannot be read further: framing is lost, so there is no resynchronising. */
export class FrameStreamError extends Error {
  constructor(message: string, readonly offset: number) {
    super(`${message} (at byte ${offset} of the stream)`);
    this.name = 'FrameStreamError';
  }
}

export function controlTypeName(type: number): string {
  return ['?', 'ACCEPT', 'START', 'STOP', 'READY', 'FINISH'][type] ?? `control type ${type}`;
}

export function encodeControlFrame(type: ControlType, contentTypes: readonly string[] = []): Buffer {
  const fields = contentTypes.map((t) => Buffer.from(t, 'utf8'));
  const bodyLength = 4 + fields.reduce((n, f) => n + 8 + f.length, 0);
  const out = Buffer.alloc(8 + bodyLength);
  out.writeUInt32BE(0, 0);
  out.writeUInt32BE(bodyLength, 4);
  out.writeUInt32BE(type, 8);
  let at = 12;
  for (const f of fields) {
    out.writeUInt32BE(CONTROL_FIELD_CONTENT_TYPE, at);
    out.writeUInt32BE(f.length, at + 4);
    f.copy(out, at + 8);
    at += 8 + f.length;
  }
  return out;
}

export function encodeDataFrame(payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(4 + payload.length);
  out.writeUInt32BE(payload.length, 0);
  out.set(payload, 4);
  return out;
}

/** Incremental decoder: feed bytes as they arrive, get whole frames back. */
export class FrameStreamDecoder {
  private buffered: Buffer = Buffer.alloc(0);
  private consumed = 0; // stream offset of buffered[0], for error messages

  constructor(private readonly maxDataFrameBytes = 1 << 20) {}

  /** Bytes held waiting for the rest of a frame. */
  get pendingBytes(): number {
    return this.buffered.length;
  }

  /** Calls onFrame for each frame `chunk` completes; a data payload may share memory with
   * `chunk`, so use it before returning. Throws FrameStreamError on broken framing. */
  push(chunk: Buffer, onFrame: (frame: Frame) => void): void {
    // Copy only when a frame spans chunks; a chunk of whole frames is read in place.
    const buf = this.buffered.length > 0 ? Buffer.concat([this.buffered, chunk]) : chunk;
    let at = 0;
    while (buf.length - at >= 4) {
      const length = buf.readUInt32BE(at);
      if (length > 0) {
        if (length > this.maxDataFrameBytes) {
          throw new FrameStreamError(`data frame of ${length} bytes exceeds the ${this.maxDataFrameBytes}-byte limit`, this.consumed + at);
        }
        if (buf.length - at - 4 < length) break;
        onFrame({ kind: 'data', payload: buf.subarray(at + 4, at + 4 + length) });
        at += 4 + length;
        continue;
      }
      if (buf.length - at < 8) break;
      const controlLength = buf.readUInt32BE(at + 4);
      if (controlLength < 4 || controlLength > MAX_CONTROL_FRAME_BYTES) {
        throw new FrameStreamError(`control frame length ${controlLength} is outside 4..${MAX_CONTROL_FRAME_BYTES}`, this.consumed + at);
      }
      if (buf.length - at - 8 < controlLength) break;
      onFrame(decodeControl(buf.subarray(at + 8, at + 8 + controlLength), this.consumed + at));
      at += 8 + controlLength;
    }
    this.consumed += at;
    // Keep the tail as a copy: the caller may reuse `chunk`, and data frames already handed
    // out must not be overwritten.
    this.buffered = at === buf.length ? Buffer.alloc(0) : Buffer.from(buf.subarray(at));
  }
}

function decodeControl(body: Buffer, offset: number): Frame {
  const type = body.readUInt32BE(0);
  if (type < ControlType.ACCEPT || type > ControlType.FINISH) {
    throw new FrameStreamError(`unknown control frame type ${type}`, offset);
  }
  const contentTypes: string[] = [];
  let at = 4;
  while (at < body.length) {
    if (body.length - at < 8) throw new FrameStreamError('truncated control frame field', offset);
    const fieldType = body.readUInt32BE(at);
    const fieldLength = body.readUInt32BE(at + 4);
    if (body.length - at - 8 < fieldLength) throw new FrameStreamError('control frame field overruns its frame', offset);
    if (fieldType === CONTROL_FIELD_CONTENT_TYPE) {
      contentTypes.push(body.toString('utf8', at + 8, at + 8 + fieldLength));
    }
    at += 8 + fieldLength;
  }
  return { kind: 'control', type, contentTypes };
}
