/**
 * Splits master-file bytes (RFC 1035 section 5.1) into entries: one per logical line, with
 * parentheses joining physical lines, `;` comments removed, and quoted strings kept as single
 * tokens. Tokens are byte ranges of the input, not strings: a zone has millions of them and most
 * are consumed as bytes (names, addresses). Escapes stay in the token: their meaning depends on
 * the field (name or string).
 */

/** The tokens of one entry: byte ranges into `buf`. Reused from entry to entry. */
export class Tokens {
  buf: Buffer = Buffer.alloc(0);
  count = 0;
  starts = new Int32Array(64);
  ends = new Int32Array(64);
  quoted = new Uint8Array(64);

  push(start: number, end: number, quoted: boolean): void {
    const i = this.count++;
    if (i >= this.starts.length) this.grow();
    this.starts[i] = start;
    this.ends[i] = end;
    this.quoted[i] = quoted ? 1 : 0;
  }

  private grow(): void {
    const size = this.starts.length * 2;
    const starts = new Int32Array(size);
    const ends = new Int32Array(size);
    const quoted = new Uint8Array(size);
    starts.set(this.starts);
    ends.set(this.ends);
    quoted.set(this.quoted);
    this.starts = starts;
    this.ends = ends;
    this.quoted = quoted;
  }

  /** A token as text (zone files are UTF-8); for the fields that are read as strings. */
  text(i: number): string {
    return this.buf.toString('utf8', this.starts[i], this.ends[i]);
  }

  isQuoted(i: number): boolean {
    return this.quoted[i] === 1;
  }

  length(i: number): number {
    return this.ends[i] - this.starts[i];
  }

  /** Tokens made from strings (`$GENERATE` output), in the same form the lexer gives. */
  static fromStrings(fields: readonly { text: string; quoted: boolean }[]): Tokens {
    const t = new Tokens();
    const parts = fields.map((f) => Buffer.from(f.text, 'utf8'));
    t.buf = Buffer.concat(parts);
    let at = 0;
    for (let i = 0; i < parts.length; i++) {
      t.push(at, at + parts[i].length, fields[i].quoted);
      at += parts[i].length;
    }
    return t;
  }
}

export class LexError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(message);
  }
}

const SPACE = 0x20;
const TAB = 0x09;
const CR = 0x0d;
const LF = 0x0a;
const SEMI = 0x3b;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN = 0x28;
const CLOSE = 0x29;

/** Bytes that end an unquoted token. */
const DELIMITER = new Uint8Array(256);
for (const c of [SPACE, TAB, CR, LF, SEMI, OPEN, CLOSE, QUOTE]) DELIMITER[c] = 1;

export class MasterLexer {
  private pos = 0;
  private lineNo = 1;
  /** Line the current entry starts on (1-based). */
  line = 0;
  /** The current entry started with white space: its owner is the previous one. */
  blankOwner = false;
  readonly tokens = new Tokens();

  constructor(private readonly input: Buffer) {
    this.tokens.buf = input;
  }

  /** Advances to the next entry with at least one token; false at the end of the input. */
  next(): boolean {
    const text = this.input;
    const n = text.length;
    const tokens = this.tokens;
    let pos = this.pos;
    let line = this.lineNo;
    while (pos < n) {
      const startLine = line;
      const first = text[pos];
      const blankOwner = first === SPACE || first === TAB;
      tokens.count = 0;
      let depth = 0;
      let openedAt = 0;
      for (;;) {
        if (pos >= n) {
          if (depth > 0) throw new LexError(openedAt, "'(' is never closed");
          break;
        }
        const c = text[pos];
        if (c === LF) {
          pos++;
          line++;
          if (depth === 0) break;
        } else if (c === SPACE || c === TAB || c === CR) {
          pos++;
        } else if (c === SEMI) {
          while (pos < n && text[pos] !== LF) pos++;
        } else if (c === OPEN) {
          if (depth === 0) openedAt = line;
          depth++;
          pos++;
        } else if (c === CLOSE) {
          if (depth === 0) throw new LexError(line, "')' without '('");
          depth--;
          pos++;
        } else if (c === QUOTE) {
          const quoteLine = line;
          const start = ++pos;
          for (;;) {
            if (pos >= n) throw new LexError(quoteLine, 'quoted string is never closed');
            const q = text[pos];
            if (q === BACKSLASH) pos += 2;
            else if (q === QUOTE) break;
            else {
              if (q === LF) line++;
              pos++;
            }
          }
          tokens.push(start, pos, true);
          pos++;
        } else {
          const start = pos;
          while (pos < n) {
            const w = text[pos];
            if (w === BACKSLASH) pos += 2;
            else if (DELIMITER[w] === 1) break;
            else pos++;
          }
          if (pos > n) throw new LexError(line, 'file ends in a lone backslash');
          tokens.push(start, pos, false);
        }
      }
      if (tokens.count > 0) {
        this.pos = pos;
        this.lineNo = line;
        this.line = startLine;
        this.blankOwner = blankOwner;
        return true;
      }
    }
    this.pos = pos;
    this.lineNo = line;
    return false;
  }
}
