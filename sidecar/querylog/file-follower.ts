/**
 * Follows a file by name the way `tail -F` does, at the byte level:
 * - rotation by rename (BIND's `versions`/`size`, logrotate's create mode): the old file is
 *   read to its end before the new one is opened, so nothing written before the rename is
 *   lost and nothing is read twice;
 * - truncation in place (copytruncate): reading restarts at offset 0;
 * - a file that does not exist yet, or disappears for a while: it is opened when it appears;
 * - several rotations between two polls (a burst of queries against a small `size`): the
 *   files rotated in between are found by their numbered names (`<path>.0`, `.1`, ... as BIND
 *   and logrotate name them) and read in order before the new file.
 *
 * It polls (stat + positional reads) rather than waiting on inotify, which misses changes on
 * some file systems; the poll period also bounds how stale the ranking can get.
 * A truncation followed by more writes than were read before it, all within one poll
 * interval, looks like growth; `tail -F` has the same blind spot.
 */
import { promises as fsp, Stats } from 'fs';

export interface FollowSink {
  data(chunk: Buffer): void;
  /** The file being read was replaced by a new one at the same path; the old one is done. */
  endOfFile(): void;
  /** The file shrank under the reader; what follows starts at offset 0. */
  truncated(): void;
}

export interface FollowOptions {
  /** Poll period in milliseconds (default 200). */
  pollMs?: number;
  /** Read an already existing file from its start (default: from its end, like `tail -F -n 0`).
   * A file that appears or replaces the followed one is always read from its start. */
  fromStart?: boolean;
  /** Upper bound on bytes read per poll, so one poll cannot monopolise the event loop. */
  maxBytesPerPoll?: number;
  /** How many numbered rotated names to look at for files missed between polls (default 10). */
  maxVersions?: number;
  /** Called on I/O errors other than "file is not there"; following continues. */
  onError?: (err: Error) => void;
}

const CHUNK_BYTES = 1 << 20;

export class FileFollower {
  private file: fsp.FileHandle | undefined;
  private identity: { dev: number; ino: number } | undefined;
  private position = 0;
  private openedOnce = false; // set at the first attempt, successful or not
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;
  private readonly buf = Buffer.allocUnsafe(CHUNK_BYTES);
  private readonly pollMs: number;
  private readonly maxBytesPerPoll: number;

  constructor(
    readonly path: string,
    private readonly sink: FollowSink,
    private readonly options: FollowOptions = {},
  ) {
    this.pollMs = options.pollMs ?? 200;
    this.maxBytesPerPoll = options.maxBytesPerPoll ?? 64 * CHUNK_BYTES;
  }

  /** Takes the first look (so "from the end" means the end as of this call), then polls. */
  async start(): Promise<void> {
    if (!this.stopped) return;
    this.stopped = false;
    this.running = this.pollOnce();
    await this.running;
    this.running = undefined;
    this.schedule(this.pollMs);
  }

  /** Stops polling after a last poll, so what was written before stop() is delivered. */
  async stop(): Promise<void> {
    // Never started (stepped with pollOnce only) or already stopped: nothing polls, but a
    // file pollOnce opened may still be held.
    if (this.stopped) return this.closeFile();
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.running) await this.running;
    await this.pollOnce();
    await this.closeFile();
  }

  /** One step: open if needed, read what is new, detect rotation and truncation.
   * Public so tests can step the follower deterministically. Not re-entrant. */
  async pollOnce(): Promise<void> {
    try {
      if (!this.file && !(await this.open())) return;
      let budget = this.maxBytesPerPoll;
      budget -= await this.drain(budget);

      const onDisk = await statOrUndefined(this.path);
      if (onDisk && !this.isCurrent(onDisk)) {
        // Renamed away and replaced: finish the old file, then start the new one at 0.
        budget -= await this.drain(Number.MAX_SAFE_INTEGER);
        this.sink.endOfFile();
        const finished = this.identity!;
        await this.closeFile();
        // Hold the new file open before looking for the ones rotated in between: if BIND
        // rotates again meanwhile, the file found at the path a moment ago is then among the
        // numbered ones (and read there), and the handle still reads the one opened here.
        const next = await openOrUndefined(this.path);
        try {
          for (const missed of await this.rotatedSince(finished, next?.stat)) {
            if (await this.openPath(missed, 0)) {
              await this.drain(Number.MAX_SAFE_INTEGER);
              this.sink.endOfFile();
              await this.closeFile();
            }
          }
        } catch (err) {
          await next?.file.close();
          throw err;
        }
        if (next) {
          this.file = next.file;
          this.identity = { dev: next.stat.dev, ino: next.stat.ino };
          this.position = 0;
          await this.drain(budget);
        }
        return;
      }
      const mine = await this.file!.stat();
      if (mine.size < this.position) {
        this.position = 0;
        this.sink.truncated();
        await this.drain(budget);
      }
    } catch (err) {
      this.options.onError?.(err as Error);
    }
  }

  private schedule(delay: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.pollOnce().finally(() => {
        this.running = undefined;
        this.schedule(this.pollMs);
      });
    }, delay);
  }

  private isCurrent(st: Stats): boolean {
    return this.identity !== undefined && st.ino === this.identity.ino && st.dev === this.identity.dev;
  }

  private async open(): Promise<boolean> {
    // Only a file that is already there at the first look is joined at its end; one that
    // appears later was created after we started, so all of it is new.
    const fromEnd = !this.openedOnce && !this.options.fromStart;
    this.openedOnce = true;
    return this.openPath(this.path, fromEnd ? 'end' : 0);
  }

  private async openPath(path: string, at: 0 | 'end'): Promise<boolean> {
    const opened = await openOrUndefined(path);
    if (!opened) return false;
    this.file = opened.file;
    this.identity = { dev: opened.stat.dev, ino: opened.stat.ino };
    this.position = at === 'end' ? opened.stat.size : 0;
    return true;
  }

  /**
   * Rotated files newer than `finished` (the file just read to its end) and older than
   * `current`, oldest first. Numbered names count up with age, so walk them upwards until
   * the finished file; if it is gone (rotated out of existence), every rotated file is newer.
   */
  private async rotatedSince(finished: { dev: number; ino: number }, current: Stats | undefined): Promise<string[]> {
    const newerFirst: string[] = [];
    for (let i = 0; i < (this.options.maxVersions ?? 10); i++) {
      const name = `${this.path}.${i}`;
      const st = await statOrUndefined(name);
      if (!st) continue;
      if (st.ino === finished.ino && st.dev === finished.dev) break;
      if (current && st.ino === current.ino && st.dev === current.dev) continue;
      newerFirst.push(name);
    }
    return newerFirst.reverse();
  }

  /** Reads from the current position to end of file, at most `budget` bytes. */
  private async drain(budget: number): Promise<number> {
    let total = 0;
    while (total < budget) {
      const want = Math.min(this.buf.length, budget - total);
      const { bytesRead } = await this.file!.read(this.buf, 0, want, this.position);
      if (bytesRead === 0) break;
      this.position += bytesRead;
      total += bytesRead;
      this.sink.data(this.buf.subarray(0, bytesRead));
    }
    return total;
  }

  private async closeFile(): Promise<void> {
    const file = this.file;
    this.file = undefined;
    this.identity = undefined;
    if (file) await file.close();
  }
}

/** The file at `path` opened, with its identity, or undefined when there is none. */
async function openOrUndefined(path: string): Promise<{ file: fsp.FileHandle; stat: Stats } | undefined> {
  let file: fsp.FileHandle;
  try {
    file = await fsp.open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    return { file, stat: await file.stat() };
  } catch (err) {
    await file.close();
    throw err;
  }
}

async function statOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await fsp.stat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
