/** A live BIND query log, followed across rotation and truncation, as query events. */
import { QueryEventSink, QueryLogDecoder, QueryLogStats } from './decoder';
import { FileFollower, FollowOptions } from './file-follower';

export class QueryLogFollower {
  private readonly decoder: QueryLogDecoder;
  private readonly follower: FileFollower;

  constructor(path: string, onEvent: QueryEventSink, options: FollowOptions = {}) {
    this.decoder = new QueryLogDecoder(path, onEvent);
    this.follower = new FileFollower(
      path,
      {
        data: (chunk) => this.decoder.push(chunk),
        endOfFile: () => this.decoder.endOfFile(path),
        truncated: () => this.decoder.truncated(),
      },
      options,
    );
  }

  get stats(): QueryLogStats {
    return this.decoder.stats;
  }

  start(): Promise<void> {
    return this.follower.start();
  }

  stop(): Promise<void> {
    return this.follower.stop();
  }

  pollOnce(): Promise<void> {
    return this.follower.pollOnce();
  }
}
