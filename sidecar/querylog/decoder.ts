/**
 * Bytes of a BIND query log in, query events out. Keeps line numbers so an unreadable line
 * is reported as file:line; never throws on bad input.
 */
import { QueryEvent } from '../ranking/question-key';
import { LineSplitter } from './line-splitter';
import { isUnreadable, parseQueryLine } from './parse-line';
import { UnreadableTally } from './unreadable-tally';

export type QueryEventSink = (event: QueryEvent) => void;

export interface QueryLogStats {
  lines: number;
  queries: number;
  bytes: number;
  readonly unreadable: UnreadableTally;
}

export class QueryLogDecoder {
  readonly stats: QueryLogStats = { lines: 0, queries: 0, bytes: 0, unreadable: new UnreadableTally() };
  /** Line number within the current file (restarts after rotation or truncation). */
  private lineNo = 0;
  private readonly splitter: LineSplitter;

  constructor(
    private source: string,
    private readonly onEvent: QueryEventSink,
  ) {
    this.splitter = new LineSplitter({
      line: (text) => this.line(text),
      overlong: (bytes) => {
        this.lineNo++;
        this.stats.lines++;
        this.stats.unreadable.note(this.where(), `line longer than the limit (${bytes} bytes)`, '');
      },
    });
  }

  push(chunk: Buffer): void {
    this.stats.bytes += chunk.length;
    this.splitter.push(chunk);
  }

  /** End of the current file: its last, unterminated line still counts. `next` names the
   * file that follows (after a rotation), for line numbers in warnings. */
  endOfFile(next?: string): void {
    this.splitter.end();
    this.lineNo = 0;
    if (next !== undefined) this.source = next;
  }

  /** The file was truncated: a partial line belongs to data that no longer exists. */
  truncated(): void {
    this.splitter.discardPartial();
    this.lineNo = 0;
  }

  private line(text: string): void {
    this.lineNo++;
    this.stats.lines++;
    if (text.length === 0) return;
    const parsed = parseQueryLine(text);
    if (isUnreadable(parsed)) {
      this.stats.unreadable.note(this.where(), parsed.reason, text);
      return;
    }
    this.stats.queries++;
    this.onEvent(parsed);
  }

  private where(): string {
    return `${this.source}:${this.lineNo}`;
  }
}
