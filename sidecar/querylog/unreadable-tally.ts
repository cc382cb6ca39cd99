/** Counts lines a reader could not use and keeps the first few, with where they were, so
 * one warning can say what went wrong without logging every line of a garbled file. */

export interface UnreadableSample {
  /** "file:line" */
  readonly where: string;
  readonly reason: string;
  /** The line, cut to a readable length. */
  readonly text: string;
}

const SAMPLE_TEXT_MAX = 200;

export class UnreadableTally {
  count = 0;
  readonly byReason = new Map<string, number>();
  readonly samples: UnreadableSample[] = [];

  constructor(private readonly maxSamples = 5) {}

  note(where: string, reason: string, text: string): void {
    this.count++;
    this.byReason.set(reason, (this.byReason.get(reason) ?? 0) + 1);
    if (this.samples.length < this.maxSamples) {
      const cut = text.length > SAMPLE_TEXT_MAX ? text.slice(0, SAMPLE_TEXT_MAX) + '...' : text;
      // Copy: a slice would keep the whole read chunk alive.
      this.samples.push({ where, reason, text: Buffer.from(cut, 'utf8').toString('utf8') });
    }
  }

  /** One line for a warning; undefined when nothing was unreadable. */
  summary(): string | undefined {
    if (this.count === 0) return undefined;
    const reasons = [...this.byReason].map(([r, n]) => `${r}: ${n}`).join(', ');
    const first = this.samples[0];
    return `${this.count} unreadable line(s) (${reasons}); first at ${first.where} (${first.reason}): ${JSON.stringify(first.text)}`;
  }
}
