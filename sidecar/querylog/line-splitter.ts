/**
 * Splits a byte stream into lines. Chunks are cut at their last newline before decoding, so
 * a UTF-8 sequence is never split (BIND escapes non-ASCII bytes in names, but view names
 * and other categories sharing the channel may not).
 */

const NEWLINE = 0x0a;

export interface LineSink {
  line(text: string): void;
  /** A line longer than the limit was dropped; `bytes` is how much of it was seen. */
  overlong(bytes: number): void;
}

export class LineSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private discarding = false;

  constructor(
    private readonly sink: LineSink,
    private readonly maxLineBytes = 64 * 1024,
  ) {}

  /** Feeds bytes. The chunk may be reused by the caller afterwards. */
  push(chunk: Buffer): void {
    const lastNl = chunk.lastIndexOf(NEWLINE);
    if (lastNl < 0) {
      this.keep(chunk);
      return;
    }
    const firstNl = chunk.indexOf(NEWLINE);
    this.finishPending(chunk.subarray(0, firstNl));
    if (lastNl > firstNl) {
      const text = chunk.toString('utf8', firstNl + 1, lastNl);
      let start = 0;
      for (;;) {
        const nl = text.indexOf('\n', start);
        if (nl < 0) {
          this.sink.line(text.slice(start));
          break;
        }
        this.sink.line(text.slice(start, nl));
        start = nl + 1;
      }
    }
    if (lastNl + 1 < chunk.length) this.keep(chunk.subarray(lastNl + 1));
  }

  /** The stream ended: an unterminated last line is still a line (a writer that stopped
   * mid-line after a rotation will not come back to finish it). */
  end(): void {
    if (this.pendingBytes > 0 && !this.discarding) {
      this.sink.line(Buffer.concat(this.pending).toString('utf8'));
    }
    this.discardPartial();
  }

  /** Forgets an unterminated line, e.g. when the file was truncated under it. */
  discardPartial(): void {
    this.pending = [];
    this.pendingBytes = 0;
    this.discarding = false;
  }

  private keep(part: Buffer): void {
    if (this.discarding) {
      this.pendingBytes += part.length;
      return;
    }
    if (this.pendingBytes + part.length > this.maxLineBytes) {
      this.discarding = true;
      this.pending = [];
      this.pendingBytes += part.length;
      return;
    }
    this.pending.push(Buffer.from(part)); // copy: the caller reuses its buffer
    this.pendingBytes += part.length;
  }

  private finishPending(head: Buffer): void {
    if (this.discarding) {
      this.sink.overlong(this.pendingBytes + head.length);
      this.discardPartial();
      return;
    }
    if (this.pendingBytes === 0) {
      this.sink.line(head.toString('utf8'));
      return;
    }
    if (this.pendingBytes + head.length > this.maxLineBytes) {
      this.sink.overlong(this.pendingBytes + head.length);
    } else {
      this.pending.push(head);
      this.sink.line(Buffer.concat(this.pending).toString('utf8'));
    }
    this.discardPartial();
  }
}
