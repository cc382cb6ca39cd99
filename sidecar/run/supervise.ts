/**
 * `santa run` across edits of named.conf.
 *
 * named reads its configuration again only when told (rndc reconfig or reload, a restart), and
 * what it answers then may differ in ways no zone file or serial shows: a zone added, deleted or
 * moved, minimal-responses, the blackhole, rate-limit or listen-on lists. So an edit of any file
 * of named.conf stops the cached answers it can change (those of the zones whose statements it
 * added, removed or changed, and of the zones above and below them; every answer when anything
 * else changed: conf-changes.ts), named.conf is read again, and a new run takes over with it,
 * keeping the hot set and the other answers, which it asks BIND for again. Answers come back only
 * as BIND gives them; one that BIND changes later, when it is told to read the new
 * configuration, is caught by its recheck (bind.recheck_seconds).
 *
 * A named.conf that does not read (a syntax error mid-edit, a statement Santa cannot follow)
 * leaves the old run paused: nothing cached, metrics still served, the error logged with its
 * file and line. It is read again at the next edit, and every few seconds until it reads (an
 * include written after the file that names it is not watched yet).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import chokidar from 'chokidar';
import { answersChanged } from '../named-conf/conf-changes';
import { readNamedConf, type NamedConf } from '../named-conf/read';
import type { HotSetRanking } from '../ranking/hot-set-ranking';
import { readRunConf, runSanta, type RunningSanta, type RunOptions } from './santa-run';

/** While named.conf does not read, how often it is read again without an event. */
const RETRY_MS = 5_000;

export interface SupervisedSanta {
  /** The run in service; undefined after a new configuration failed to start. */
  current(): RunningSanta | undefined;
  tickNow(): Promise<void>;
  stop(): Promise<void>;
}

export interface SuperviseOptions extends RunOptions {
  /** Quiet time after a named.conf event before it is read (an editor writes in steps). */
  confQuietMs?: number;
}

export async function superviseSanta(options: SuperviseOptions): Promise<SupervisedSanta> {
  const { log } = options;
  const counts = { ok: 0, errors: 0, latestOk: true };
  const start = (ranking?: HotSetRanking) => runSanta({ ...options, ranking, namedConfReloads: () => counts });
  // What the first run reads, taken before it reads it: an edit while it starts is not lost.
  let readContent = contentDigest(confFiles(options));
  let run: RunningSanta | undefined = await start();
  let ranking = run.ranking;
  let files = new Set(run.namedConfFiles);
  const watcher = chokidar.watch([...files], { ignoreInitial: true });
  let stopping = false;
  /** The latest read failed: read again even where no watched content changed. */
  let failing = false;
  let retry: NodeJS.Timeout | undefined;

  const watchFiles = (next: readonly string[]) => {
    const wanted = new Set(next);
    const gone = [...files].filter((f) => !wanted.has(f));
    if (gone.length) watcher.unwatch(gone);
    watcher.add([...wanted].filter((f) => !files.has(f)));
    files = wanted;
  };

  let lastError = '';
  const readAgain = async () => {
    if (stopping) return;
    if (run && !failing && contentDigest(files) === readContent) {
      log.debug('named.conf files touched, their content unchanged: nothing to do');
      return;
    }
    readContent = contentDigest(files);
    let conf: NamedConf;
    try {
      conf = readRunConf(options.config).conf;
    } catch (e) {
      const message = (e as Error).message;
      const withdrawn = run ? await run.pause() : 0;
      if (!failing || message !== lastError) {
        counts.errors++;
        log.error({ error: message, withdrawn }, 'named.conf does not read: nothing is cached (BIND answers everything) until an edit fixes it');
      }
      counts.latestOk = false;
      failing = true;
      lastError = message;
      clearTimeout(retry);
      retry = setTimeout(schedule, RETRY_MS);
      return;
    }
    failing = false;
    clearTimeout(retry);
    if (run) {
      // What the edit can change goes now; the rest is taken over by the next run, which asks
      // BIND for it again in its first rounds.
      const change = answersChanged(run.conf, conf);
      const withdrawn = await run.pause(change.everything ? undefined : change.zones);
      if (change.everything) log.warn({ withdrawn, why: change.why }, 'named.conf changed: every cached answer withdrawn while it is read again');
      else log.warn({ withdrawn, zones: change.zones }, 'named.conf changed: the answers of the zones it changes withdrawn while it is read again');
    }
    await run?.stop();
    run = undefined;
    if (stopping) return;
    try {
      run = await start(ranking);
      ranking = run.ranking;
      counts.ok++;
      counts.latestOk = true;
      watchFiles(run.namedConfFiles);
      readContent = contentDigest(files);
      log.info({ files: run.namedConfFiles }, 'named.conf read again: a run with it took over');
    } catch (e) {
      counts.errors++;
      counts.latestOk = false;
      log.error({ error: (e as Error).message }, 'santa run did not start with the changed named.conf: nothing is cached until the next edit');
    }
  };

  // One re-read at a time; events during one start another after it. Configuration management
  // often rewrites named.conf unchanged: readAgain compares content, so that empties no cache.
  let queue = Promise.resolve();
  let quiet: NodeJS.Timeout | undefined;
  const schedule = () => {
    clearTimeout(quiet);
    quiet = setTimeout(() => {
      queue = queue.then(readAgain).catch((e) => log.error({ error: (e as Error).message }, 're-reading named.conf failed'));
    }, options.confQuietMs ?? 300);
  };
  watcher.on('all', (event, file) => {
    log.info({ event, file }, 'named.conf file changed');
    schedule();
  });
  schedule();

  return {
    current: () => run,
    tickNow: async () => run?.tickNow(),
    async stop() {
      stopping = true;
      clearTimeout(quiet);
      clearTimeout(retry);
      await watcher.close();
      await queue;
      await run?.stop();
    },
  };
}

/** The files of named.conf as it reads now: the main file alone when it does not read. */
function confFiles(options: RunOptions): string[] {
  try {
    return readNamedConf(options.config.namedConf).files;
  } catch {
    return [options.config.namedConf];
  }
}

/** What the files hold, as one digest (a file that cannot be read counts as its error). */
function contentDigest(files: Iterable<string>): string {
  const hash = createHash('sha256');
  for (const file of [...files].sort()) {
    hash.update(file).update('\0');
    try {
      hash.update(readFileSync(file));
    } catch (e) {
      hash.update(`unreadable: ${(e as NodeJS.ErrnoException).code ?? ''}`);
    }
    hash.update('\0');
  }
  return hash.digest('hex');
}
