/**
 * The generic statement grammar of named.conf: `word args... [{ statements }] ;`, with `#`, `//`
 * and C-style comments and double-quoted strings. It knows nothing about what statements mean,
 * so an unknown statement is just another node the reader ignores.
 */

export interface Location {
  file: string;
  line: number;
}

export interface Statement {
  /** First token: the keyword, or a list element such as an address inside `{ ... }`. */
  name: string;
  args: string[];
  /** Present when the statement has a `{ ... }` part; only the first braced part is kept. */
  block?: Statement[];
  at: Location;
}

export class NamedConfError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly reason: string,
  ) {
    super(`${file}:${line}: ${reason}`);
    this.name = 'NamedConfError';
  }
}

type Token = { kind: 'word' | 'string' | '{' | '}' | ';'; text: string; line: number };

function tokenize(text: string, file: string): Token[] {
  const tokens: Token[] = [];
  let line = 1;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i];
    if (c === '\n') {
      line++;
      i++;
    } else if (/\s/.test(c)) {
      // Any whitespace separates words (form feed, no-break space...): the word scanner below
      // stops at all of it, so skipping less here would never advance.
      i++;
    } else if (c === '#' || (c === '/' && text[i + 1] === '/')) {
      while (i < n && text[i] !== '\n') i++;
    } else if (c === '/' && text[i + 1] === '*') {
      const start = line;
      i += 2;
      while (i < n && !(text[i] === '*' && text[i + 1] === '/')) {
        if (text[i] === '\n') line++;
        i++;
      }
      if (i >= n) throw new NamedConfError(file, start, 'unterminated /* comment');
      i += 2;
    } else if (c === '"') {
      const start = line;
      let value = '';
      i++;
      while (i < n && text[i] !== '"') {
        if (text[i] === '\\' && i + 1 < n) i++;
        if (text[i] === '\n') line++;
        value += text[i++];
      }
      if (i >= n) throw new NamedConfError(file, start, 'unterminated quoted string');
      i++;
      tokens.push({ kind: 'string', text: value, line: start });
    } else if (c === '{' || c === '}' || c === ';') {
      tokens.push({ kind: c, text: c, line });
      i++;
    } else {
      const start = i;
      while (i < n && !/[\s{};"#]/.test(text[i]) && !(text[i] === '/' && (text[i + 1] === '/' || text[i + 1] === '*'))) i++;
      tokens.push({ kind: 'word', text: text.slice(start, i), line });
    }
  }
  return tokens;
}

/** Parses one file's text into statements; `include` is left for the reader to resolve. */
export function parseStatements(text: string, file: string): Statement[] {
  const tokens = tokenize(text, file);
  let pos = 0;

  // Real configurations nest a few levels; a limit turns a hostile file into an error that
  // names where it is, not a stack overflow.
  const MAX_DEPTH = 64;
  let depth = 0;

  function parseList(closing: boolean, line = 1): Statement[] {
    if (++depth > MAX_DEPTH) throw new NamedConfError(file, line, `blocks nested more than ${MAX_DEPTH} deep`);
    try {
      return parseListBody(closing);
    } finally {
      depth--;
    }
  }

  function parseListBody(closing: boolean): Statement[] {
    const list: Statement[] = [];
    for (;;) {
      const t = tokens[pos];
      if (!t) {
        if (closing) throw new NamedConfError(file, tokens[tokens.length - 1]?.line ?? 1, "missing '}' before end of file");
        return list;
      }
      if (t.kind === '}') {
        if (!closing) throw new NamedConfError(file, t.line, "unexpected '}'");
        pos++;
        return list;
      }
      if (t.kind === ';') {
        pos++; // a stray ';' is harmless
        continue;
      }
      if (t.kind === '{') {
        // An anonymous nested list, as in `match-clients { { 10/8; }; };`: keep it as a node.
        pos++;
        const block = parseList(true, t.line);
        expectSemicolon(t.line);
        list.push({ name: '{}', args: [], block, at: { file, line: t.line } });
        continue;
      }
      list.push(parseStatement());
    }
  }

  function parseStatement(): Statement {
    const first = tokens[pos++];
    const statement: Statement = { name: first.text, args: [], at: { file, line: first.line } };
    for (;;) {
      const t = tokens[pos];
      if (!t) throw new NamedConfError(file, first.line, `statement '${first.text}' is not terminated by ';'`);
      if (t.kind === ';') {
        pos++;
        return statement;
      }
      if (t.kind === '}') throw new NamedConfError(file, t.line, `missing ';' after '${first.text}'`);
      if (t.kind === '{') {
        pos++;
        const block = parseList(true, t.line);
        statement.block ??= block;
        continue; // `key "x" { ... } ;` and rare forms with words after the block
      }
      statement.args.push(t.text);
      pos++;
    }
  }

  function expectSemicolon(line: number): void {
    const t = tokens[pos];
    if (!t || t.kind !== ';') throw new NamedConfError(file, t?.line ?? line, "missing ';' after '}'");
    pos++;
  }

  return parseList(false);
}
