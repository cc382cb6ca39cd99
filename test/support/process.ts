/**
 * Child-process helpers for tests: run a command to completion with a time bound, start a
 * long-running one while keeping its output for error messages, and stop it by pid.
 *
 * Every failure message carries the command line and what the command printed, because a test
 * that fails with "exit code 1" and nothing else costs more time than it saves.
 */
import { spawn, ChildProcess } from 'child_process';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Kill the command (SIGKILL) after this long; default 30 s. */
  timeoutMs?: number;
  /** Bytes written to the command's stdin, which is then closed. */
  input?: string | Buffer;
  /** Resolve with the result instead of throwing when the exit code is not 0. */
  allowFailure?: boolean;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export class CommandError extends Error {
  constructor(
    readonly argv: readonly string[],
    readonly result: RunResult,
    reason: string,
  ) {
    super(`${reason}: ${formatArgv(argv)}\n${indentOutput(result)}`);
    this.name = 'CommandError';
  }
}

export function formatArgv(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

function indentOutput(r: RunResult): string {
  const parts: string[] = [];
  if (r.stdout.trim()) parts.push(`  stdout: ${r.stdout.trim().split('\n').join('\n          ')}`);
  if (r.stderr.trim()) parts.push(`  stderr: ${r.stderr.trim().split('\n').join('\n          ')}`);
  return parts.join('\n') || '  (no output)';
}

/** Runs argv[0] with the rest as arguments (no shell) and resolves when it exits. */
export function run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: opts.env ?? process.env,
      cwd: opts.cwd,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot start ${formatArgv(argv)}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const result: RunResult = {
        code: code ?? -1,
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString(),
      };
      if (timedOut) {
        reject(new CommandError(argv, result, `timed out after ${timeoutMs} ms`));
      } else if (result.code !== 0 && !opts.allowFailure) {
        reject(new CommandError(argv, result, signal ? `killed by ${signal}` : `exit code ${result.code}`));
      } else {
        resolve(result);
      }
    });
    child.stdin.on('error', () => undefined); // a command that ignores stdin may close it early
    child.stdin.end(opts.input ?? '');
  });
}

/** Keeps the last `limit` characters a process printed, for error messages. */
export class OutputTail {
  private text = '';
  constructor(private readonly limit = 16_384) {}
  push(chunk: Buffer | string): void {
    this.text += chunk.toString();
    if (this.text.length > 2 * this.limit) this.text = this.text.slice(-this.limit);
  }
  toString(): string {
    return this.text.slice(-this.limit);
  }
}

export interface Background {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Combined stdout and stderr seen so far (tail). */
  output(): string;
  /** Resolves once the process has exited (immediately if it already has). */
  exited(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  hasExited(): boolean;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Everything `bg` prints from now on, not only the tail output() keeps: for tests that count a
 * process's log lines over its whole run (a tail drops the early ones as the log grows).
 */
export function collectOutput(bg: Background): () => string {
  const chunks: string[] = [];
  bg.child.stdout?.on('data', (b: Buffer) => chunks.push(b.toString()));
  bg.child.stderr?.on('data', (b: Buffer) => chunks.push(b.toString()));
  return () => chunks.join('');
}

/** Starts a long-running command; its output is kept for error messages. */
export function startBackground(argv: readonly string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Background {
  const child = spawn(argv[0], argv.slice(1), {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: opts.env ?? process.env,
    cwd: opts.cwd,
  });
  const tail = new OutputTail();
  child.stdout!.on('data', (b: Buffer) => tail.push(b));
  child.stderr!.on('data', (b: Buffer) => tail.push(b));
  let exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  let spawnError: Error | undefined;
  const exitPromise = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('error', (e) => {
      spawnError = e;
      tail.push(`cannot start ${formatArgv(argv)}: ${e.message}\n`);
      exitInfo = exitInfo ?? { code: -1, signal: null };
      resolve(exitInfo);
    });
    child.on('exit', (code, signal) => {
      exitInfo = { code, signal };
      resolve(exitInfo);
    });
  });
  if (child.pid === undefined && !spawnError) {
    tail.push(`cannot start ${formatArgv(argv)}\n`);
  }
  return {
    child,
    pid: child.pid ?? -1,
    output: () => tail.toString(),
    exited: () => exitPromise,
    hasExited: () => exitInfo !== undefined,
    async stop(graceMs = 5_000) {
      if (exitInfo) return;
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exitPromise;
      clearTimeout(killer);
    },
  };
}

/** Thrown by a waitFor probe to stop waiting at once (the awaited state can no longer come). */
export class GiveUp extends Error {}

/**
 * Polls `probe` until it returns a value other than undefined, or throws after `timeoutMs`
 * with `describe()` (called only on failure) in the message, along with the probe's last error.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  opts: { timeoutMs: number; intervalMs?: number; describe?: () => string },
): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (e) {
      if (e instanceof GiveUp) {
        throw new Error(`gave up waiting for ${what}: ${e.message}${opts.describe ? `\n${opts.describe()}` : ''}`);
      }
      lastError = e;
    }
    if (Date.now() >= deadline) {
      const last = lastError instanceof Error ? `\nlast error: ${lastError.message}` : '';
      const extra = opts.describe ? `\n${opts.describe()}` : '';
      throw new Error(`timed out after ${opts.timeoutMs} ms waiting for ${what}${last}${extra}`);
    }
    await sleep(opts.intervalMs ?? 100);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** True while a process with this pid exists (signal 0 probes without delivering anything). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
