/**
 * Splits master-file text (RFC 1035 section 5.1) into entries: one per logical line, with
 * parentheses joining physical lines, `;` comments removed, and quoted strings kept as single
 * tokens. Escapes stay in the token text: their meaning depends on the field (name or string).
 */
import { Token } from './rdata';

export interface Entry {
  /** Line the entry starts on (1-based). */
  line: number;
  /** The line started with white space: the owner is the previous one. */
  blankOwner: boolean;
  tokens: Token[];
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

/** Words most records repeat, by length: returned as constants instead of new strings. */
const COMMON_WORDS: string[][] = [[], ['A'], ['IN', 'NS', 'MX'], ['TXT', 'SRV', 'PTR', 'SOA', 'CAA'], ['AAAA'], ['CNAME', 'DNAME']];

function commonWord(text: string, start: number, end: number): string | undefined {
  const words = COMMON_WORDS[end - start];
  if (!words) return undefined;
  for (const w of words) if (text.startsWith(w, start)) return w;
  return undefined;
}

export class MasterLexer {
  private pos = 0;
  private line = 1;
  /** Token objects are reused from entry to entry: a zone has millions of them. */
  private readonly pool: Token[] = [];
  private readonly entry: Entry = { line: 0, blankOwner: false, tokens: [] };

  constructor(private readonly text: string) {}

  private push(tokens: Token[], text: string, quoted: boolean): void {
    let t = this.pool[tokens.length];
    if (!t) {
      t = { text, quoted };
      this.pool.push(t);
    } else {
      t.text = text;
      t.quoted = quoted;
    }
    tokens.push(t);
  }

  /**
   * The next entry with at least one token, or null at the end. The entry and its tokens are
   * valid only until the following call.
   */
  next(): Entry | null {
    const text = this.text;
    const n = text.length;
    const tokens = this.entry.tokens;
    while (this.pos < n) {
      const startLine = this.line;
      const first = text.charCodeAt(this.pos);
      const blankOwner = first === SPACE || first === TAB;
      tokens.length = 0;
      let depth = 0;
      let openedAt = 0;
      for (;;) {
        if (this.pos >= n) {
          if (depth > 0) throw new LexError(openedAt, "'(' is never closed");
          break;
        }
        const c = text.charCodeAt(this.pos);
        if (c === LF) {
          this.pos++;
          this.line++;
          if (depth === 0) break;
        } else if (c === SPACE || c === TAB || c === CR) {
          this.pos++;
        } else if (c === SEMI) {
          while (this.pos < n && text.charCodeAt(this.pos) !== LF) this.pos++;
        } else if (c === OPEN) {
          if (depth === 0) openedAt = this.line;
          depth++;
          this.pos++;
        } else if (c === CLOSE) {
          if (depth === 0) throw new LexError(this.line, "')' without '('");
          depth--;
          this.pos++;
        } else if (c === QUOTE) {
          const quoteLine = this.line;
          const start = ++this.pos;
          for (;;) {
            if (this.pos >= n) throw new LexError(quoteLine, 'quoted string is never closed');
            const q = text.charCodeAt(this.pos);
            if (q === BACKSLASH) this.pos += 2;
            else if (q === QUOTE) break;
            else {
              if (q === LF) this.line++;
              this.pos++;
            }
          }
          this.push(tokens, text.slice(start, this.pos), true);
          this.pos++;
        } else {
          const start = this.pos;
          while (this.pos < n) {
            const w = text.charCodeAt(this.pos);
            if (w === BACKSLASH) {
              this.pos += 2;
              continue;
            }
            if (w === SPACE || w === TAB || w === CR || w === LF || w === SEMI || w === OPEN || w === CLOSE || w === QUOTE) break;
            this.pos++;
          }
          if (this.pos > n) throw new LexError(this.line, 'file ends in a lone backslash');
          this.push(tokens, commonWord(text, start, this.pos) ?? text.slice(start, this.pos), false);
        }
      }
      if (tokens.length > 0) {
        this.entry.line = startLine;
        this.entry.blankOwner = blankOwner;
        return this.entry;
      }
    }
    return null;
  }
}
