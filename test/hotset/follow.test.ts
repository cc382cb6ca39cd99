/**
 * The query-log follower against a file that is rotated (renamed, as BIND's `versions` does),
 * truncated (copytruncate) and created late, while it is being written. Every line carries a
 * sequence number so loss, duplication and reordering all show.
 */
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readlinkSync, renameSync, rmSync, truncateSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { QueryLogFollower } from '../../sidecar/querylog/follow-query-log';
import { QueryEvent } from '../../sidecar/ranking/question-key';
import { sleep, waitFor } from '../support/process';

function line(seq: number): string {
  return `27-Nov-2026 04:01:46.923 client @0x7f96a2b06098 10.53.0.1#${1024 + (seq % 60000)} (q${seq}.example.test): query: q${seq}.example.test IN A +E(0)K (10.53.0.2)\n`;
}

function seqOf(e: QueryEvent): number {
  return Number(e.name.slice(1, e.name.indexOf('.')));
}

/** BIND's rotation: path.(n-1) -> path.n ... path -> path.0; the writer then reopens path. */
function rotate(path: string, versions: number): void {
  for (let i = versions - 1; i > 0; i--) if (existsSync(`${path}.${i - 1}`)) renameSync(`${path}.${i - 1}`, `${path}.${i}`);
  renameSync(path, `${path}.0`);
}

/** How many of this process's file descriptors refer to `path`. */
function openFdsOn(path: string): number {
  let n = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) === path) n++;
    } catch {
      /* closed while listing */
    }
  }
  return n;
}

describe('QueryLogFollower', () => {
  let dir: string;
  let follower: QueryLogFollower | undefined;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'santa-follow-'));
  });
  afterEach(async () => {
    await follower?.stop();
    follower = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('loses and repeats nothing across renames made while it polls', async () => {
    const path = join(dir, 'query.log');
    const seen: number[] = [];
    writeFileSync(path, '');
    follower = new QueryLogFollower(path, (e) => seen.push(seqOf(e)), { pollMs: 5 });
    await follower.start();
    const total = 20_000;
    for (let seq = 0; seq < total; seq++) {
      appendFileSync(path, line(seq));
      if (seq % 1500 === 1499) rotate(path, 3);
      if (seq % 100 === 0) await sleep(1); // let the poll timer run between writes
    }
    await waitFor('all lines', () => (seen.length >= total ? true : undefined), {
      timeoutMs: 20_000,
      describe: () => `got ${seen.length}; first out of place: ${seen.findIndex((s, i) => s !== i)} -> ${seen[seen.findIndex((s, i) => s !== i)]}`,
    });
    await follower.stop();
    expect(seen.length).toBe(total);
    expect(seen.every((s, i) => s === i)).toBe(true);
    expect(follower.stats.unreadable.count).toBe(0);
  });

  it('reads files rotated twice between two polls, in order', async () => {
    const path = join(dir, 'query.log');
    const seen: number[] = [];
    writeFileSync(path, '');
    follower = new QueryLogFollower(path, (e) => seen.push(seqOf(e)));
    await follower.pollOnce();
    let seq = 0;
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 10; i++) appendFileSync(path, line(seq++));
      rotate(path, 5);
    }
    for (let i = 0; i < 10; i++) appendFileSync(path, line(seq++));
    await follower.pollOnce();
    expect(seen).toEqual([...Array(seq).keys()]);
  });

  it('restarts at offset 0 after a truncation and keeps going', async () => {
    const path = join(dir, 'query.log');
    const seen: number[] = [];
    writeFileSync(path, '');
    follower = new QueryLogFollower(path, (e) => seen.push(seqOf(e)));
    await follower.pollOnce();
    for (let s = 0; s < 50; s++) appendFileSync(path, line(s));
    appendFileSync(path, line(999).slice(0, 40)); // a line cut by the truncation
    await follower.pollOnce();
    truncateSync(path, 0);
    for (let s = 50; s < 60; s++) appendFileSync(path, line(s));
    await follower.pollOnce();
    expect(seen).toEqual([...Array(60).keys()]);
    expect(follower.stats.unreadable.count).toBe(0);
  });

  it('waits for a file that does not exist yet and reads it from the start', async () => {
    const path = join(dir, 'later.log');
    const seen: number[] = [];
    follower = new QueryLogFollower(path, (e) => seen.push(seqOf(e)));
    await follower.pollOnce();
    expect(seen).toEqual([]);
    for (let s = 0; s < 5; s++) appendFileSync(path, line(s));
    await follower.pollOnce();
    expect(seen).toEqual([0, 1, 2, 3, 4]);
  });

  it('starts at the end of an existing file unless told to read it from the start', async () => {
    const path = join(dir, 'query.log');
    for (let s = 0; s < 5; s++) appendFileSync(path, line(s));
    const tail: number[] = [];
    const whole: number[] = [];
    follower = new QueryLogFollower(path, (e) => tail.push(seqOf(e)));
    const fromStart = new QueryLogFollower(path, (e) => whole.push(seqOf(e)), { fromStart: true });
    await follower.pollOnce();
    await fromStart.pollOnce();
    appendFileSync(path, line(5));
    await follower.pollOnce();
    await fromStart.pollOnce();
    await fromStart.stop();
    expect(tail).toEqual([5]);
    expect(whole).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('counts and samples garbled lines with file:line, and keeps reading', async () => {
    const path = join(dir, 'query.log');
    writeFileSync(path, `${line(0)}garbage here\n${line(1)}\u0000\u0001binary\n${line(2)}`);
    const seen: number[] = [];
    follower = new QueryLogFollower(path, (e) => seen.push(seqOf(e)), { fromStart: true });
    await follower.pollOnce();
    expect(seen).toEqual([0, 1, 2]);
    expect(follower.stats.unreadable.count).toBe(2);
    expect(follower.stats.unreadable.samples[0].where).toBe(`${path}:2`);
    expect(follower.stats.unreadable.summary()).toMatch(/2 unreadable line/);
  });

  it('closes the file on stop() also when it was only stepped with pollOnce', async () => {
    const path = join(dir, 'query.log');
    writeFileSync(path, line(0));
    follower = new QueryLogFollower(path, () => undefined, { fromStart: true });
    await follower.pollOnce();
    expect(openFdsOn(path)).toBe(1);
    await follower.stop();
    expect(openFdsOn(path)).toBe(0);
  });
});
