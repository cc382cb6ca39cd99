/**
 * The one growing byte buffer of the project: RDATA is encoded into it (straight into a zone's
 * record arena), owner names are interned in one, and DNS messages are rendered with it.
 * Values are big-endian (network order).
 */

export class ByteWriter {
  /** Valid up to `length`; replaced (not resized in place) when it grows, so re-read it after writing. */
  buf: Buffer;
  length = 0;

  constructor(initialSize = 256) {
    this.buf = Buffer.allocUnsafe(initialSize);
  }

  /** Room for `n` more bytes after `length`. */
  ensure(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.length + n));
    this.buf.copy(bigger, 0, 0, this.length);
    this.buf = bigger;
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.length++] = v;
  }

  u16(v: number): void {
    this.ensure(2);
    const b = this.buf;
    b[this.length] = v >>> 8;
    b[this.length + 1] = v;
    this.length += 2;
  }

  u32(v: number): void {
    this.ensure(4);
    const b = this.buf;
    const at = this.length;
    b[at] = v >>> 24;
    b[at + 1] = v >>> 16;
    b[at + 2] = v >>> 8;
    b[at + 3] = v;
    this.length = at + 4;
  }

  /** Overwrites two bytes already written (a length filled in afterwards). */
  setU16(at: number, v: number): void {
    this.buf[at] = v >>> 8;
    this.buf[at + 1] = v;
  }

  bytes(src: Uint8Array | readonly number[], start = 0, end = src.length): void {
    const n = end - start;
    this.ensure(n);
    const b = this.buf;
    if (n < 32 || !(src instanceof Uint8Array)) {
      // A native copy costs more than the loop for the few bytes of most names and RDATA.
      let out = this.length;
      for (let i = start; i < end; i++) b[out++] = src[i];
    } else {
      b.set(src.subarray(start, end), this.length);
    }
    this.length += n;
  }

  /** A view of bytes written so far (shares memory until the next growth). */
  view(start = 0, end = this.length): Buffer {
    return this.buf.subarray(start, end);
  }

  /** An independent copy of everything written. */
  copy(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.length));
  }

  /** Drops spare capacity; for buffers that are complete and kept. */
  trim(): void {
    if (this.buf.length !== this.length) this.buf = this.copy();
  }
}
