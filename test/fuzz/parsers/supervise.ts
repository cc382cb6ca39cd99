/**
 * Runs a parser target's cases in a child process with a memory ceiling and a watchdog: an
 * input that hangs the parser (no progress for `stallMs`) or exhausts the heap is reported
 * with its case number, and the run resumes after it.
 */
import { spawn } from 'child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'fs';
import { join, resolve } from 'path';

export interface ParserFinding {
  target: string;
  seed: number;
  index: number;
  problem: string;
}

export interface ParserRunReport {
  target: string;
  seed: number;
  cases: number;
  elapsedMs: number;
  findings: ParserFinding[];
}

export interface ParserRunOptions {
  target: string;
  seed: number;
  cases: number;
  /** First case index (to rerun one saved case). */
  first?: number;
  /** Per-input time budget inside the worker. */
  budgetMs?: number;
  /** No progress for this long: the current input hangs. */
  stallMs?: number;
  heapMb?: number;
  maxFindings?: number;
}

const WORKER = resolve(__dirname, 'worker.ts');
const STARTUP_GRACE_MS = 30_000;

interface Segment {
  ran: number;
  lastStarted: number;
  findings: ParserFinding[];
  end: 'done' | 'hang' | 'crash';
  detail: string;
}

function runSegment(o: Required<ParserRunOptions>, first: number, cases: number): Promise<Segment> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [`--max-old-space-size=${o.heapMb}`, '--require', require.resolve('tsx/cjs'), WORKER, o.target, String(o.seed), String(first), String(cases), String(o.budgetMs)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const seg: Segment = { ran: 0, lastStarted: -1, findings: [], end: 'crash', detail: '' };
    let buffered = '';
    let stderr = '';
    let finished = false;
    let timer: NodeJS.Timeout;
    const arm = (ms: number) => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        seg.end = 'hang';
        seg.detail = `no progress for ${ms} ms`;
        child.kill('SIGKILL');
      }, ms);
    };
    arm(STARTUP_GRACE_MS);
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (line.startsWith('c ')) {
          seg.lastStarted = Number(line.slice(2));
          seg.ran++;
        } else if (line.startsWith('f ')) {
          const sp = line.indexOf(' ', 2);
          seg.findings.push({ target: o.target, seed: o.seed, index: Number(line.slice(2, sp)), problem: JSON.parse(line.slice(sp + 1)) as string });
        } else if (line.startsWith('done ')) {
          finished = true;
        }
      }
      arm(o.stallMs);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-2000);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (finished && code === 0) seg.end = 'done';
      else if (seg.end !== 'hang') {
        const lines = stderr.trim().split('\n');
        const fatal = lines.find((l) => /FATAL ERROR|Error:/.test(l));
        seg.detail = `exit ${code ?? signal}: ${fatal?.trim() ?? lines.slice(-3).join(' | ')}`;
      }
      done(seg);
    });
  });
}

export async function fuzzParser(opts: ParserRunOptions): Promise<ParserRunReport> {
  const o: Required<ParserRunOptions> = { first: 0, budgetMs: 2000, stallMs: 10_000, heapMb: 256, maxFindings: 20, ...opts };
  const report: ParserRunReport = { target: o.target, seed: o.seed, cases: 0, elapsedMs: 0, findings: [] };
  const start = Date.now();
  const end = o.first + o.cases;
  let next = o.first;
  while (next < end && report.findings.length < o.maxFindings) {
    const seg = await runSegment(o, next, end - next);
    // A segment reports all it found: keep to the cap (a broken contract can fail every input).
    report.findings.push(...seg.findings.slice(0, o.maxFindings - report.findings.length));
    report.cases += seg.ran;
    if (seg.end === 'done') break;
    if (seg.lastStarted < 0) throw new Error(`parser fuzz worker for ${o.target} did not start: ${seg.detail}`);
    report.findings.push({ target: o.target, seed: o.seed, index: seg.lastStarted, problem: `${seg.end === 'hang' ? 'hangs' : 'crashes the process'} (${seg.detail})` });
    next = seg.lastStarted + 1;
  }
  report.elapsedMs = Date.now() - start;
  return report;
}

/** A parser case that broke its contract: regenerated from (target, seed, index) on replay. */
export function saveParserFinding(f: ParserFinding, dir: string): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `parser-${f.target}-seed${f.seed}-case${f.index}.json`);
  writeFileSync(file, JSON.stringify(f, null, 2) + '\n');
  return file;
}

export function loadParserFindings(dir: string): Array<{ file: string; f: ParserFinding }> {
  return readdirSync(dir)
    .filter((n) => n.startsWith('parser-') && n.endsWith('.json'))
    .sort()
    .map((n) => ({ file: n, f: JSON.parse(readFileSync(join(dir, n), 'utf8')) as ParserFinding }));
}
