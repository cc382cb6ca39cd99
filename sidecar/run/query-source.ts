/**
 * Opens the configured query source (BIND's query log, a dnstap socket or file) and hands every
 * query it reads to `observe`. One shape for all of them, so the sidecar's metrics and warnings
 * do not care where queries come from.
 */
import type { Logger } from 'pino';
import type { SantaConfig } from '../config';
import { readDnstapFile } from '../dnstap/read-file';
import { DnstapSocketReceiver } from '../dnstap/socket-receiver';
import { QueryLogFollower } from '../querylog/follow-query-log';
import type { QueryEvent } from '../ranking/question-key';

export interface QuerySource {
  stop(): Promise<void>;
  /** Records read and records that could not be understood (skipped, never fatal). */
  snapshot(): { source: string; records: number; unreadable: number };
  /** A few samples of unreadable records with where they were, for the log. */
  unreadable(): string | undefined;
}

export async function openQuerySource(queries: SantaConfig['queries'], observe: (e: QueryEvent) => void, log: Logger): Promise<QuerySource | undefined> {
  const path = queries.path as string;
  switch (queries.source) {
    case 'querylog': {
      const follower = new QueryLogFollower(path, observe);
      await follower.start();
      return {
        stop: () => follower.stop(),
        snapshot: () => ({ source: 'querylog', records: follower.stats.lines, unreadable: follower.stats.unreadable.count }),
        unreadable: () => follower.stats.unreadable.summary(),
      };
    }
    case 'dnstap-socket': {
      const receiver = new DnstapSocketReceiver(path, observe, { onError: (e) => log.warn({ error: e.message }, 'dnstap connection error') });
      await receiver.listen();
      return {
        stop: () => receiver.close(),
        snapshot: () => ({ source: 'dnstap', records: receiver.stats.frames, unreadable: receiver.stats.unreadable.count }),
        unreadable: () => receiver.stats.unreadable.summary(),
      };
    }
    case 'dnstap-file': {
      // A file is a one-off seed for the ranking; from then on XDP hit counts keep it current.
      const stats = await readDnstapFile(path, observe);
      log.info({ path, frames: stats.frames, queries: stats.queries }, 'dnstap file read');
      return {
        stop: async () => undefined,
        snapshot: () => ({ source: 'dnstap', records: stats.frames, unreadable: stats.unreadable.count }),
        unreadable: () => stats.unreadable.summary(),
      };
    }
    case 'none':
      return undefined;
  }
}
