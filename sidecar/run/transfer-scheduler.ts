/**
 * When zones served from transfers (bind.signed_zones or bind.secondary_zones: transfer) are
 * transferred: one transfer at a time per zone, one asked for meanwhile run right after it, and a
 * transfer that was not taken (it failed, or BIND has not loaded the file yet) tried again after
 * a pause that doubles with each failure in a row, up to a minute, so a lasting refusal
 * (allow-transfer) neither floods BIND nor the log.
 */
export type TransferOutcome<T> = { taken: T } | { refused: string };

export interface TransferSchedulerOptions<T> {
  /** Transfers the zone and offers it to the registry; throws or returns `refused` when not taken. */
  run(zone: string): Promise<TransferOutcome<T>>;
  taken(zone: string, result: T): void;
  refused(zone: string, reason: string, retryMs: number): void;
  /** The first pause after a refusal (default 2 s). */
  retryMs?: number;
}

const MAX_RETRY_MS = 60_000;

export class TransferScheduler<T> {
  private readonly running = new Set<string>();
  private readonly again = new Set<string>();
  private readonly retries = new Map<string, NodeJS.Timeout>();
  private readonly failures = new Map<string, number>();
  private stopped = false;
  /** Transfers taken and not taken since start. */
  readonly counts = { taken: 0, refused: 0 };

  constructor(private readonly o: TransferSchedulerOptions<T>) {}

  /** Transfers `zone` now, or right after the transfer of it under way. */
  async request(zone: string): Promise<void> {
    if (this.stopped) return;
    if (this.running.has(zone)) {
      this.again.add(zone);
      return;
    }
    clearTimeout(this.retries.get(zone));
    this.running.add(zone);
    try {
      let outcome: TransferOutcome<T>;
      try {
        outcome = await this.o.run(zone);
      } catch (e) {
        outcome = { refused: (e as Error).message };
      }
      if (this.stopped) return;
      if ('refused' in outcome) {
        this.counts.refused++;
        const failures = (this.failures.get(zone) ?? 0) + 1;
        this.failures.set(zone, failures);
        const retryMs = Math.min(MAX_RETRY_MS, (this.o.retryMs ?? 2000) * 2 ** Math.min(failures - 1, 10));
        this.o.refused(zone, outcome.refused, retryMs);
        this.retries.set(zone, setTimeout(() => void this.request(zone), retryMs));
      } else {
        this.counts.taken++;
        this.failures.delete(zone);
        this.o.taken(zone, outcome.taken);
      }
    } finally {
      this.running.delete(zone);
      if (this.again.delete(zone)) void this.request(zone);
    }
  }

  /** No transfer starts or is taken from now on (the maps are about to close). */
  stop(): void {
    this.stopped = true;
    for (const t of this.retries.values()) clearTimeout(t);
  }
}
